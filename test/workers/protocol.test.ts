import { describe, expect, it } from 'vitest';
import { validateGenerate, type GenerateParams } from '../../src/workers/protocol';
import { MAX_DEEPCACHE_INTERVAL, MIN_DEEPCACHE_INTERVAL } from '../../src/pipeline/presets';

const ok: GenerateParams = { prompt: 'a cave', negativePrompt: '', steps: 20, guidance: 7, scheduler: 'dpm', seed: 1 };

describe('validateGenerate', () => {
  it('accepts requests without the DeepCache and preset fields (older clients)', () => {
    expect(validateGenerate(ok)).toBeNull();
  });

  it('accepts DeepCache intervals from 1 to 10 and every preset name', () => {
    for (let n = MIN_DEEPCACHE_INTERVAL; n <= MAX_DEEPCACHE_INTERVAL; n++) expect(validateGenerate({ ...ok, deepCacheInterval: n })).toBeNull();
    for (const preset of ['headset', 'reference', 'custom'] as const) expect(validateGenerate({ ...ok, preset })).toBeNull();
  });

  it('refuses intervals that are not whole numbers in 1…10, and unknown presets, saying why', () => {
    for (const bad of [0, 11, 2.5, -3, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(validateGenerate({ ...ok, deepCacheInterval: bad })).toBe(`deepCacheInterval must be a whole number from 1 to 10 (got ${bad})`);
    }
    // Values from a message are not typed: a string must not pass as a number.
    expect(validateGenerate({ ...ok, deepCacheInterval: '2' as unknown as number })).toMatch(/deepCacheInterval must be a whole number/);
    expect(validateGenerate({ ...ok, preset: 'turbo' as never })).toBe('preset must be one of headset, reference, custom (got turbo)');
  });

  it('still checks the other fields', () => {
    expect(validateGenerate({ ...ok, steps: 0 })).toMatch(/steps must be a whole number from 1 to 1000/);
    expect(validateGenerate({ ...ok, scheduler: 'lms' as never })).toMatch(/scheduler must be one of/);
  });
});
