/**
 * The generate controls inside the VR panel (uikit): the prompt (uikit's Textarea focuses a hidden
 * DOM field, which opens the headset's system keyboard), steps, Generate / Cancel, progress,
 * notices and errors. The same generation store as the desktop panel drives it.
 *
 * Progress is written to the bar and label with `setProperties` from a store subscription, so a
 * diffusion step re-renders nothing (the same rule as the desktop panel).
 */
import { build, Container, Text, VanillaTextarea, type TextareaProperties, type VanillaContainer, type VanillaText } from '@react-three/uikit';
import { useEffect, useRef, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { GenerationStore } from '../../state/generation';

/**
 * uikit's own Textarea registers its three.js element under the class's `name`, which the
 * production minifier shortens; it then collided with another uikit element and every Container
 * became a Textarea ("the text component can not have any children"). An explicit name is unique.
 */
const PromptTextarea = build<VanillaTextarea, TextareaProperties>(VanillaTextarea, 'Ldm3dPromptTextarea');

export interface VRGenerateSectionProps {
  readonly store: GenerationStore;
}

/**
 * The bundled MSDF font has ASCII glyphs only (a missing glyph breaks the text layout), so text
 * from the store ("—", "…", quotes) is mapped to ASCII for the VR panel.
 */
export function asciiText(s: string): string {
  return s
    .replace(/[\u2012-\u2015\u2212]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\u00d7/g, 'x')
    .replace(/[^\x20-\x7e\n]/g, '?');
}

function VRButton({ label, onClick, disabled }: { label: string; onClick(): void; disabled?: boolean }): ReactNode {
  return (
    <Container
      backgroundColor={disabled ? '#2a3038' : '#3a4450'}
      // uikit 1.0 crashes on a conditional section that is present but undefined
      // (Object.entries(undefined) in setLayersWithConditionals): pass an empty one instead.
      hover={disabled ? {} : { backgroundColor: '#56657a' }}
      active={disabled ? {} : { backgroundColor: '#7a8ea8' }}
      borderRadius={10}
      paddingX={16}
      paddingY={10}
      cursor={disabled ? undefined : 'pointer'}
      onClick={disabled ? undefined : onClick}
    >
      <Text fontSize={22} color={disabled ? '#7b8794' : '#ffffff'}>
        {label}
      </Text>
    </Container>
  );
}

export function VRGenerateSection({ store }: VRGenerateSectionProps): ReactNode {
  const status = useStore(store, (s) => s.status);
  const prompt = useStore(store, (s) => s.settings.prompt);
  const steps = useStore(store, (s) => s.settings.steps);
  const error = useStore(store, (s) => s.error?.message ?? null);
  const notices = useStore(store, (s) => s.notices);
  const confirm = useStore(store, (s) => s.awaitingConfirmation);
  const bar = useRef<VanillaContainer>(null);
  const label = useRef<VanillaText>(null);
  const running = status === 'planning' || status === 'loading' || status === 'generating' || status === 'cancelling';

  useEffect(() => {
    const apply = (fraction: number, text: string): void => {
      bar.current?.setProperties({ width: `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%` });
      label.current?.setProperties({ text: asciiText(text) });
    };
    const p = store.getState().progress;
    apply(p?.fraction ?? 0, p?.text ?? '');
    return store.subscribe((s, prev) => {
      if (s.progress !== prev.progress) apply(s.progress?.fraction ?? 0, s.progress?.text ?? '');
    });
  }, [store]);

  const update = store.getState().updateSettings;
  return (
    <Container flexDirection="column" gap={10}>
      <Text fontSize={20} color="#ffffff">
        Describe the scene
      </Text>
      <PromptTextarea
        value={prompt}
        onValueChange={(v: string) => update({ prompt: v })}
        placeholder="a sunlit forest clearing with a wooden cabin"
        disabled={running}
        width="100%"
        height={90}
        fontSize={18}
        color="#ffffff"
        backgroundColor="#0f1216"
        borderRadius={8}
        padding={8}
      />
      <Container flexDirection="row" gap={10} alignItems="center">
        <VRButton label="Steps -" disabled={running || steps <= 1} onClick={() => update({ steps: Math.max(1, steps - 5) })} />
        <Text fontSize={20} color="#ffffff">
          {String(steps)}
        </Text>
        <VRButton label="Steps +" disabled={running} onClick={() => update({ steps: Math.min(1000, steps + 5) })} />
      </Container>
      {confirm ? (
        <Text fontSize={16} color="#ffd28a">
          {`Downloads ${Math.round(confirm.remainingBytes / 1e6)} MB and keeps it in this browser.`}
        </Text>
      ) : null}
      <Container flexDirection="row" gap={10}>
        <VRButton
          label={confirm ? 'Download and generate' : status === 'generating' ? 'Generating...' : status === 'loading' ? 'Loading...' : 'Generate'}
          disabled={running}
          onClick={() => void store.getState().generate({ confirmDownload: confirm !== null })}
        />
        <VRButton label={status === 'cancelling' ? 'Cancelling...' : 'Cancel'} disabled={!running || status === 'cancelling'} onClick={() => store.getState().cancel()} />
      </Container>
      <Container flexDirection="column" gap={4} display={running ? 'flex' : 'none'}>
        <Container width="100%" height={10} backgroundColor="#0f1216" borderRadius={5}>
          <Container ref={bar} width="0%" height="100%" backgroundColor="#1f6fd1" borderRadius={5} />
        </Container>
        <Text ref={label} fontSize={16} color="#b8c2cc">
          {''}
        </Text>
      </Container>
      {error !== null ? (
        <Text fontSize={16} color="#ff8a80">
          {asciiText(error)}
        </Text>
      ) : null}
      {notices.map((n) => (
        <Text key={n} fontSize={14} color="#9cc7ff">
          {asciiText(n)}
        </Text>
      ))}
    </Container>
  );
}
