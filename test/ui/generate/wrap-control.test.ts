/**
 * The "Seamless 360°" setting from the settings to what runs (issue 12): the toggle's state for both
 * panels, the wrap a generation asks for, the scene metadata's `wrap` field, and `?wrap=` defaults.
 */
import { describe, expect, it } from 'vitest';
import { makeMetadata } from '../../export/fixtures';
import { MetadataError, parseMetadata, stringifyMetadata } from '../../../src/export/metadata';
import { DEFAULT_SETTINGS, effectiveWrap } from '../../../src/state/generation';
import { NO_WRAP_REASON, wrapControl } from '../../../src/ui/generate/wrap-control';
import { validateGenerate, type GenerateParams, type LoadedMessage } from '../../../src/workers/protocol';

function loaded(supportsWrap: boolean | undefined): LoadedMessage {
  return {
    type: 'loaded',
    id: 1,
    summary: {
      modelId: 'test/tiny',
      license: 'apache-2.0',
      pipeline: 'StableDiffusionLDM3DPipeline',
      width: 128,
      height: 64,
      dtype: 'float32',
      defaults: { steps: 50, guidance: 7, scheduler: 'ddim' },
    },
    backend: 'wasm',
    notices: [],
    testWeights: true,
    loadMs: 1,
    supportsDeepCache: false,
    ...(supportsWrap === undefined ? {} : { supportsWrap }),
  } as LoadedMessage;
}

describe('seamless 360° setting', () => {
  it('is on by default', () => {
    expect(DEFAULT_SETTINGS.wrap).toBe(true);
  });

  it('runs where the loaded model has wrapped graphs, off elsewhere (an old worker that does not say: off)', () => {
    expect(effectiveWrap({ wrap: true }, loaded(true))).toBe(true);
    expect(effectiveWrap({ wrap: false }, loaded(true))).toBe(false);
    expect(effectiveWrap({ wrap: true }, loaded(false))).toBe(false);
    expect(effectiveWrap({ wrap: true }, loaded(undefined))).toBe(false);
  });

  it('the toggle: enabled and as set before a model is known and for a wrapped model; disabled, off, with the reason otherwise', () => {
    expect(wrapControl({ wrap: true }, null)).toEqual({ enabled: true, reason: null, checked: true });
    expect(wrapControl({ wrap: false }, loaded(true))).toEqual({ enabled: true, reason: null, checked: false });
    expect(wrapControl({ wrap: true }, loaded(true))).toEqual({ enabled: true, reason: null, checked: true });
    const off = wrapControl({ wrap: true }, loaded(false));
    expect(off).toEqual({ enabled: false, reason: NO_WRAP_REASON, checked: false });
    expect(off.reason).toMatch(/models\/export\.py --wrap/);
  });

  it('the worker protocol takes true, false or nothing', () => {
    const ok: GenerateParams = { prompt: 'a', negativePrompt: '', steps: 2, guidance: 7, scheduler: 'ddim', seed: 1 };
    expect(validateGenerate(ok)).toBeNull();
    expect(validateGenerate({ ...ok, wrap: true })).toBeNull();
    expect(validateGenerate({ ...ok, wrap: false })).toBeNull();
    expect(validateGenerate({ ...ok, wrap: 1 as unknown as boolean })).toMatch(/wrap must be true or false/);
  });

  it('the scene metadata records wrap true/false, reads scenes made before it, and refuses a non-boolean', () => {
    const meta = makeMetadata();
    for (const wrap of [true, false]) {
      const m = { ...meta, settings: { ...meta.settings, wrap } };
      const doc = JSON.parse(stringifyMetadata(m));
      expect(doc.settings.wrap).toBe(wrap);
      expect(parseMetadata(doc)).toEqual(m);
    }
    expect(parseMetadata(stringifyMetadata(meta)).settings.wrap).toBeUndefined();
    const bad = JSON.parse(stringifyMetadata(meta));
    bad.settings.wrap = 'yes';
    expect(() => parseMetadata(bad)).toThrow(MetadataError);
    expect(() => parseMetadata(bad)).toThrow(/settings\.wrap/);
  });
});
