/**
 * Errors (role="alert", announced at once) and notices (role="status", announced politely). Both
 * regions always exist so screen readers register them before anything is said.
 */
import type { ReactNode } from 'react';
import { useStore } from 'zustand';
import type { Message, SceneStore } from '../state/viewer';

export function Messages({ sceneStore }: { readonly sceneStore: SceneStore }): ReactNode {
  const messages = useStore(sceneStore, (s) => s.messages);
  const dismiss = useStore(sceneStore, (s) => s.dismiss);
  const errors = messages.filter((m) => m.kind === 'error');
  const notices = messages.filter((m) => m.kind === 'notice');
  const item = (m: Message): ReactNode => (
    <li key={m.id} className={m.kind}>
      <span>{m.text}</span>
      <button type="button" className="link" aria-label="Dismiss" onClick={() => dismiss(m.id)}>
        ×
      </button>
    </li>
  );
  return (
    <div className="messages">
      <ul role="alert" data-testid="errors">
        {errors.map(item)}
      </ul>
      <ul role="status" data-testid="notices">
        {notices.map(item)}
      </ul>
    </div>
  );
}
