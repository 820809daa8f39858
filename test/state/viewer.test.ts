import { describe, expect, it } from 'vitest';
import { createSceneStore, GENERATING_LABEL, MAX_MESSAGES, sanitizeDepthMapping, shownLabel } from '../../src/state/viewer';
import type { RGBDPanorama } from '../../src/panorama/types';

const pano = (w: number): RGBDPanorama => ({
  width: w,
  height: w / 2,
  rgba: new Uint8ClampedArray(w * (w / 2) * 4),
  depth: new Float32Array(w * (w / 2)),
});

describe('scene store', () => {
  it('numbers panoramas and keeps the mapping unless one is given', () => {
    const store = createSceneStore({ near: 1, far: 20 });
    const seen: number[] = [];
    store.subscribe((s, prev) => {
      if (s.current !== prev.current && s.current) seen.push(s.current.id);
    });
    const a = store.getState().showPanorama(pano(8), 'a');
    const b = store.getState().showPanorama(pano(8), 'b', { near: 0.5, far: 6 });
    expect([a, b]).toEqual([1, 2]);
    expect(seen).toEqual([1, 2]);
    expect(store.getState().current?.label).toBe('b');
    expect(store.getState().depthMapping).toEqual({ near: 0.5, far: 6 });
    store.getState().showPanorama(pano(8), 'c');
    expect(store.getState().depthMapping).toEqual({ near: 0.5, far: 6 });
  });

  it('keeps the depth mapping usable', () => {
    const fallback = { near: 1, far: 20 };
    expect(sanitizeDepthMapping({ near: -1, far: NaN }, fallback)).toEqual(fallback);
    const m = sanitizeDepthMapping({ near: 5, far: 4 }, fallback);
    expect(m.far).toBeGreaterThan(m.near);
    const store = createSceneStore(fallback);
    let changes = 0;
    store.subscribe(() => changes++);
    store.getState().setDepthMapping({ near: 1, far: 20 });
    expect(changes).toBe(0);
  });

  it('keeps the newest messages, without repeating the same one', () => {
    const store = createSceneStore({ near: 1, far: 20 });
    const say = store.getState().say;
    for (let i = 0; i < MAX_MESSAGES + 3; i++) say('notice', `n${i}`);
    say('error', 'bad');
    say('error', 'bad');
    const msgs = store.getState().messages;
    expect(msgs).toHaveLength(MAX_MESSAGES);
    expect(msgs.filter((m) => m.text === 'bad')).toHaveLength(1);
    store.getState().dismiss(msgs[msgs.length - 1].id);
    expect(store.getState().messages.some((m) => m.text === 'bad')).toBe(false);
    store.getState().clearMessages();
    expect(store.getState().messages).toEqual([]);
  });
});

describe('shownLabel (issue 14: the header names what the sphere shows)', () => {
  it('says "Generating…" while a preview replaces the scene, and the scene again once a result is shown', () => {
    const store = createSceneStore({ near: 1, far: 20 });
    expect(shownLabel(store.getState())).toBe('—');
    store.getState().showPanorama(pano(8), 'Synthetic test room');
    expect(shownLabel(store.getState())).toBe('Synthetic test room');
    store.getState().showPreview(pano(8));
    expect(shownLabel(store.getState())).toBe(GENERATING_LABEL);
    expect(GENERATING_LABEL).toBe('Generating…');
    store.getState().showPanorama(pano(8), 'a lighthouse');
    expect(shownLabel(store.getState())).toBe('a lighthouse');
    // A cancelled generation clears the preview: the old scene is on screen, and named, again.
    store.getState().showPreview(pano(8));
    store.getState().showPreview(null);
    expect(shownLabel(store.getState())).toBe('a lighthouse');
  });
});
