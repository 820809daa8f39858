import { describe, expect, it } from 'vitest';
import { FADE_SECONDS, FadeMachine, FadeVeil } from '../../src/xr/comfort-fade';
import { PerspectiveCamera } from 'three';

describe('FadeMachine', () => {
  it('fades out over FADE_SECONDS, swaps once when black, then fades in over FADE_SECONDS', () => {
    const f = new FadeMachine();
    let swaps = 0;
    f.request(() => swaps++);
    expect(f.update(10)).toBe(0); // the clock starts at the first frame
    expect(f.update(10 + FADE_SECONDS / 2)).toBeCloseTo(0.5);
    expect(swaps).toBe(0);
    expect(f.phase).toBe('out');
    expect(f.update(10 + FADE_SECONDS)).toBe(1);
    expect(swaps).toBe(1);
    expect(f.phase).toBe('in');
    expect(f.update(10 + FADE_SECONDS * 1.5)).toBeCloseTo(0.5);
    expect(f.update(10 + FADE_SECONDS * 2)).toBe(0);
    expect(f.phase).toBe('idle');
    expect(f.update(20)).toBe(0);
    expect(swaps).toBe(1);
  });

  it('a long frame gap shortens the fade but never skips the swap', () => {
    const f = new FadeMachine();
    let swapped = false;
    f.request(() => (swapped = true));
    f.update(0);
    expect(f.update(5)).toBe(1);
    expect(swapped).toBe(true);
  });

  it('only the newest request swaps when several come while fading out', () => {
    const f = new FadeMachine();
    const seen: string[] = [];
    f.request(() => seen.push('a'));
    f.update(0);
    f.update(0.1);
    f.request(() => seen.push('b'));
    f.update(0.2);
    f.update(1);
    expect(seen).toEqual(['b']);
  });

  it('a request while fading in turns back to black from the current opacity', () => {
    const f = new FadeMachine(1);
    const seen: number[] = [];
    f.request(() => seen.push(1));
    f.update(0);
    f.update(1); // black, swapped
    expect(f.update(1.25)).toBeCloseTo(0.75);
    f.request(() => seen.push(2));
    expect(f.phase).toBe('out');
    f.update(2); // clock restarts: no jump
    expect(f.opacity).toBeCloseTo(0.75);
    expect(f.update(2.25)).toBe(1);
    expect(seen).toEqual([1, 2]);
  });

  it('flush runs the pending swap at once and clears the veil; a throwing swap still fades in', () => {
    const f = new FadeMachine();
    let swapped = false;
    f.request(() => (swapped = true));
    f.update(0);
    f.update(0.1);
    f.flush();
    expect(swapped).toBe(true);
    expect(f.opacity).toBe(0);
    expect(f.phase).toBe('idle');

    const g = new FadeMachine(0.1);
    const err = console.error;
    console.error = () => undefined;
    try {
      g.request(() => {
        throw new Error('boom');
      });
      g.update(0);
      g.update(0.1);
    } finally {
      console.error = err;
    }
    expect(g.phase).toBe('in');
    g.update(0.2);
    expect(g.phase).toBe('idle');
  });
});

describe('FadeVeil', () => {
  it('follows the head, shows the opacity, hides at 0 and frees its resources', () => {
    const veil = new FadeVeil();
    const cam = new PerspectiveCamera();
    cam.position.set(1, 1.6, -2);
    veil.update(cam, 0.4);
    expect(veil.mesh.visible).toBe(true);
    expect(veil.mesh.material.opacity).toBeCloseTo(0.4);
    expect(veil.mesh.position.toArray()).toEqual([1, 1.6, -2]);
    veil.update(cam, 0);
    expect(veil.mesh.visible).toBe(false);
    let disposed = 0;
    veil.mesh.geometry.addEventListener('dispose', () => disposed++);
    veil.mesh.material.addEventListener('dispose', () => disposed++);
    veil.dispose();
    expect(disposed).toBe(2);
  });
});
