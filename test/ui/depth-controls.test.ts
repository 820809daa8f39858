import { describe, expect, it } from 'vitest';
import { depthScaleOf, mappingForScale, SCALE_RANGE, stepDepthScale } from '../../src/ui/depth-controls';

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
