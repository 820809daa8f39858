import { describe, expect, it } from 'vitest';
import { depthScaleOf, FAR_RANGE, mappingForFar, mappingForNear, mappingForScale, NEAR_RANGE, parseMetres, SCALE_RANGE, stepDepthScale } from '../../src/ui/depth-controls';

const base = { near: 1, far: 20 };

describe('depth scale', () => {
  it('scales near and far together, keeping far/near (the shape of the scene)', () => {
    const m = mappingForScale({ near: 2, far: 10 }, base, 1.5);
    expect(m.near).toBeCloseTo(1.5, 12);
    expect(m.far / m.near).toBeCloseTo(5, 12);
    expect(depthScaleOf(m, base)).toBeCloseTo(1.5, 12);
  });

  it('steps and clamps to the allowed range', () => {
    let m = base;
    for (let i = 0; i < 40; i++) m = stepDepthScale(m, base, 1.25);
    expect(depthScaleOf(m, base)).toBeCloseTo(SCALE_RANGE[1], 12);
    for (let i = 0; i < 80; i++) m = stepDepthScale(m, base, 1 / 1.25);
    expect(depthScaleOf(m, base)).toBeCloseTo(SCALE_RANGE[0], 12);
    expect(m.far / m.near).toBeCloseTo(20, 10);
  });
});

describe('typed near/far (issue 14: exact values)', () => {
  it('reads a distance in metres within the range, and nothing else', () => {
    expect(parseMetres('2', NEAR_RANGE)).toBe(2);
    expect(parseMetres(' 2.5 m ', NEAR_RANGE)).toBe(2.5);
    expect(parseMetres('2,5', NEAR_RANGE)).toBe(2.5);
    expect(parseMetres('.5', NEAR_RANGE)).toBe(0.5);
    // Out of the slider's range, negative, empty or not a number: not applied.
    for (const bad of ['0.1', '6', '-1', '', 'abc', '1e3', '2 km']) expect(parseMetres(bad, NEAR_RANGE), bad).toBeNull();
    expect(parseMetres('20', FAR_RANGE)).toBe(20);
  });

  it('keeps far at least 1.5 × near, moving the other end only where it must (as the sliders do)', () => {
    const m = { near: 1, far: 20 };
    expect(mappingForNear(m, 2)).toEqual({ near: 2, far: 20 });
    expect(mappingForNear(m, 5)).toEqual({ near: 5, far: 20 });
    expect(mappingForNear({ near: 1, far: 4 }, 4)).toEqual({ near: 4, far: 6 });
    expect(mappingForFar(m, 30)).toEqual({ near: 1, far: 30 });
    expect(mappingForFar({ near: 4, far: 20 }, 3)).toEqual({ near: 2, far: 3 });
  });
});
