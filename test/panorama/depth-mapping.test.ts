import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DEPTH_MAPPING,
  decodeDepth16,
  decodeDepth16Array,
  decodeDepth8,
  decodeDepth8Array,
  decodeLegacyRgbLikeDepth,
  depthMappingProblem,
  distanceToInverseDepth,
  encodeDepth16LDM3D,
  encodeDepth16LDM3DArray,
  inverseDepthCoefficients,
  inverseDepthToDistance,
  inverseDepthToDistances,
  validateDepthMapping,
} from '../../src/panorama/depth-mapping';

const room = { near: 0.9, far: 25 };

describe('inverse depth → metres', () => {
  it('defaults suit a room-sized scene', () => {
    expect(DEFAULT_DEPTH_MAPPING.near).toBeGreaterThanOrEqual(0.8);
    expect(DEFAULT_DEPTH_MAPPING.near).toBeLessThanOrEqual(1);
    expect(DEFAULT_DEPTH_MAPPING.far).toBeGreaterThanOrEqual(15);
    expect(DEFAULT_DEPTH_MAPPING.far).toBeLessThanOrEqual(30);
    expect(depthMappingProblem(DEFAULT_DEPTH_MAPPING)).toBeNull();
  });

  it('d = 1 is near, d = 0 is far, d = ½ is the harmonic mean (linear in 1/distance)', () => {
    expect(inverseDepthToDistance(1, room)).toBeCloseTo(0.9, 12);
    expect(inverseDepthToDistance(0, room)).toBeCloseTo(25, 12);
    expect(inverseDepthToDistance(0.5, room)).toBeCloseTo(2 / (1 / 0.9 + 1 / 25), 12);
  });

  it('brighter is nearer: strictly decreasing in d', () => {
    let previous = Infinity;
    for (let i = 0; i <= 1000; i++) {
      const r = inverseDepthToDistance(i / 1000, DEFAULT_DEPTH_MAPPING);
      expect(r).toBeLessThan(previous);
      previous = r;
    }
  });

  it('round trips d → metres → d and metres → d → metres', () => {
    for (let i = 0; i <= 100; i++) {
      const d = i / 100;
      expect(distanceToInverseDepth(inverseDepthToDistance(d, room), room)).toBeCloseTo(d, 12);
      const r = room.near + (room.far - room.near) * (i / 100);
      expect(inverseDepthToDistance(distanceToInverseDepth(r, room), room)).toBeCloseTo(r, 9);
    }
  });

  it('clamps out-of-range input and sends NaN far', () => {
    expect(inverseDepthToDistance(-0.5, room)).toBeCloseTo(25, 12);
    expect(inverseDepthToDistance(3, room)).toBeCloseTo(0.9, 12);
    expect(inverseDepthToDistance(Number.NaN, room)).toBeCloseTo(25, 12);
    expect(distanceToInverseDepth(0.1, room)).toBe(1);
    expect(distanceToInverseDepth(0, room)).toBe(1);
    expect(distanceToInverseDepth(1000, room)).toBe(0);
    expect(distanceToInverseDepth(Infinity, room)).toBe(0);
    expect(distanceToInverseDepth(Number.NaN, room)).toBe(0);
  });

  it('bulk conversion and shader coefficients agree with the scalar formula', () => {
    const d = new Float32Array([0, 0.25, 0.5, 0.75, 1, -1, 2]);
    const r = inverseDepthToDistances(d, room);
    const { invFar, invRange } = inverseDepthCoefficients(room);
    for (let i = 0; i < d.length; i++) {
      const expected = inverseDepthToDistance(d[i], room);
      expect(r[i]).toBeCloseTo(expected, 5);
      expect(1 / (invFar + invRange * Math.min(1, Math.max(0, d[i])))).toBeCloseTo(expected, 12);
    }
  });

  it('rejects bad mappings with messages that say what is wrong', () => {
    expect(() => validateDepthMapping({ near: 0, far: 10 })).toThrow(/near must be a positive/);
    expect(() => validateDepthMapping({ near: -1, far: 10 })).toThrow(RangeError);
    expect(() => validateDepthMapping({ near: 5, far: 5 })).toThrow(/far \(5 m\) must be greater than near \(5 m\)/);
    expect(() => validateDepthMapping({ near: 5, far: 2 })).toThrow(/greater than near/);
    expect(() => validateDepthMapping({ near: Number.NaN, far: 2 })).toThrow(/near/);
    expect(() => validateDepthMapping({ near: 1, far: Infinity })).toThrow(/far must be a finite/);
    expect(() => inverseDepthToDistance(0.5, { near: 2, far: 1 })).toThrow(/greater than near/);
    expect(() => distanceToInverseDepth(3, { near: 0, far: 1 })).toThrow(/near/);
  });
});

describe('pixel encodings', () => {
  it('8-bit grey → /255, picking the depth channel out of RGBA', () => {
    expect(decodeDepth8(255)).toBe(1);
    expect(decodeDepth8(0)).toBe(0);
    const rgba = new Uint8Array([255, 1, 2, 255, 51, 9, 9, 255]);
    expect(Array.from(decodeDepth8Array(rgba, 4))).toEqual([1, Math.fround(0.2)]);
    expect(Array.from(decodeDepth8Array(rgba, 4, 1))).toEqual([Math.fround(1 / 255), Math.fround(9 / 255)]);
    expect(() => decodeDepth8Array(rgba, 3)).toThrow(/whole number/);
    expect(() => decodeDepth8Array(rgba, 4, 4)).toThrow(/channel 4/);
  });

  it('16-bit grey → /65535', () => {
    expect(decodeDepth16(65535)).toBe(1);
    expect(Array.from(decodeDepth16Array(new Uint16Array([0, 65535, 32768])))).toEqual([0, 1, Math.fround(32768 / 65535)]);
  });

  it('LDM3D 16-bit encoding truncates (does not round), after a float32 product', () => {
    expect(encodeDepth16LDM3D(0)).toBe(0);
    expect(encodeDepth16LDM3D(1)).toBe(65535);
    expect(encodeDepth16LDM3D(0.5)).toBe(32767); // 32767.5 rounds to 32768; truncation keeps 32767
    expect(encodeDepth16LDM3D(1.5)).toBe(65535);
    expect(encodeDepth16LDM3D(-0.2)).toBe(0);
    // Every 16-bit value survives decode → float32 → encode (a float64 floor loses half of them).
    const lost: number[] = [];
    for (let k = 0; k <= 65535; k++) if (encodeDepth16LDM3D(Math.fround(decodeDepth16(k))) !== k) lost.push(k);
    expect(lost).toEqual([]);
  });

  it('matches numpy on golden data', () => {
    const golden = JSON.parse(
      readFileSync(new URL('./data/ldm3d-depth16-golden.json', import.meta.url), 'utf8'),
    ) as { depth: number[]; uint16: number[] };
    expect(golden.depth.length).toBeGreaterThan(400);
    const encoded = encodeDepth16LDM3DArray(new Float32Array(golden.depth));
    expect(Array.from(encoded)).toEqual(golden.uint16);
  });

  it('legacy 6-channel LDM3D depth: G is the high byte, B the low byte, R ignored', () => {
    const rgb = new Uint8Array([7, 0x12, 0x34, 200, 0xff, 0xff]);
    expect(Array.from(decodeLegacyRgbLikeDepth(rgb, 3))).toEqual([Math.fround(0x1234 / 65535), 1]);
  });
});
