/**
 * What the viewer should show next, and what the user should be told. A vanilla zustand store so
 * that import, generation and the gallery can set a panorama (`getState().showPanorama(...)`)
 * without touching scene code, and the scene reads it with `subscribe`, never per frame.
 */
import { createStore } from 'zustand/vanilla';
import type { DepthMapping, RGBDPanorama } from '../panorama/types';

export type MessageKind = 'error' | 'notice';

export interface Message {
  readonly id: number;
  readonly kind: MessageKind;
  readonly text: string;
}

export interface ShownPanorama {
  readonly panorama: RGBDPanorama;
  /** Increases by one for every panorama shown; the "scene ready" signal reports it back. */
  readonly id: number;
  /** Human-readable origin: "synthetic room", a file name, a prompt. */
  readonly label: string;
}

export interface SceneState {
  readonly current: ShownPanorama | null;
  /**
   * A low-resolution picture shown instead of `current` while a generation runs (flat depth). It
   * has no id and never counts as "scene ready"; `showPanorama` and `showPreview(null)` end it.
   */
  readonly preview: RGBDPanorama | null;
  readonly depthMapping: DepthMapping;
  readonly messages: readonly Message[];
  /**
   * Replaces the panorama on show; the previous one is dropped (the scene keeps no copy). Pass
   * `mapping` when the panorama's true metric scale is known (the synthetic room); otherwise the
   * user's current mapping stays. Returns the panorama's id. Do not mutate its arrays afterwards.
   */
  showPanorama(panorama: RGBDPanorama, label: string, mapping?: DepthMapping): number;
  setDepthMapping(mapping: DepthMapping): void;
  showPreview(preview: RGBDPanorama | null): void;
  /** Adds a message and returns its id. Notices are replaced by newer ones of the same text. */
  say(kind: MessageKind, text: string): number;
  dismiss(id: number): void;
  /** Drops all messages, e.g. when a new import starts. */
  clearMessages(): void;
}

/** What the header names while a generation's preview is on the sphere. */
export const GENERATING_LABEL = 'Generating…';

/**
 * The name of what the sphere shows: the preview replaces `current` on screen while a generation
 * runs, so naming `current` then (e.g. "Synthetic test room") would describe a scene that is not
 * visible (issue 14).
 */
export function shownLabel(s: Pick<SceneState, 'current' | 'preview'>): string {
  if (s.preview !== null) return GENERATING_LABEL;
  return s.current?.label ?? '—';
}

/** Keeps the mapping usable: positive, finite, near < far (the shader divides by both). */
export function sanitizeDepthMapping(m: DepthMapping, fallback: DepthMapping): DepthMapping {
  const near = Number.isFinite(m.near) && m.near > 0 ? m.near : fallback.near;
  let far = Number.isFinite(m.far) && m.far > 0 ? m.far : fallback.far;
  if (far <= near) far = near * 1.01;
  return { near, far };
}

/** Most messages the panel keeps; older ones scroll away. */
export const MAX_MESSAGES = 6;

export function createSceneStore(initialMapping: DepthMapping) {
  let nextPanoramaId = 1;
  let nextMessageId = 1;
  return createStore<SceneState>()((set, get) => ({
    current: null,
    preview: null,
    depthMapping: initialMapping,
    messages: [],
    showPanorama(panorama, label, mapping) {
      const id = nextPanoramaId++;
      const depthMapping = mapping ? sanitizeDepthMapping(mapping, get().depthMapping) : get().depthMapping;
      set({ current: { panorama, id, label }, depthMapping, preview: null });
      return id;
    },
    showPreview(preview) {
      if (preview !== get().preview) set({ preview });
    },
    setDepthMapping(mapping) {
      const next = sanitizeDepthMapping(mapping, get().depthMapping);
      const cur = get().depthMapping;
      if (next.near !== cur.near || next.far !== cur.far) set({ depthMapping: next });
    },
    say(kind, text) {
      const id = nextMessageId++;
      const kept = get().messages.filter((m) => !(m.kind === kind && m.text === text));
      set({ messages: [...kept, { id, kind, text }].slice(-MAX_MESSAGES) });
      return id;
    },
    dismiss(id) {
      set({ messages: get().messages.filter((m) => m.id !== id) });
    },
    clearMessages() {
      if (get().messages.length > 0) set({ messages: [] });
    },
  }));
}

export type SceneStore = ReturnType<typeof createSceneStore>;
