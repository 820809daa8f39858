import { describe, expect, it } from 'vitest';
import { stepGuidance, stepSteps, talkLabel, vrDeepCacheButtons, vrPresetButtons, vrPresetLine } from '../../../src/ui/vr/prompt-settings';
import { DEFAULT_SETTINGS, applySettingsPatch } from '../../../src/state/generation';
import { LDM3D_PANO_DEFAULTS } from '../../../src/pipeline/presets';
import type { LoadedMessage } from '../../../src/workers/protocol';
import { regenerateSettings } from '../../../src/ui/vr/regenerate';
import type { PushToTalkState } from '../../../src/speech/push-to-talk';

describe('VR settings steps', () => {
  it('steps move by 1 below 10, by 5 below 100, by 25 above, within [1, 1000]', () => {
    expect(stepSteps(2, -1)).toBe(1);
    expect(stepSteps(1, -1)).toBe(1);
    expect(stepSteps(9, 1)).toBe(10);
    expect(stepSteps(10, -1)).toBe(9);
    expect(stepSteps(10, 1)).toBe(15);
    expect(stepSteps(50, 1)).toBe(55);
    expect(stepSteps(100, 1)).toBe(125);
    expect(stepSteps(100, -1)).toBe(95);
    expect(stepSteps(1000, 1)).toBe(1000);
    expect(stepSteps(5000, 0)).toBe(1000);
    expect(stepSteps(Number.NaN, 0)).toBe(50);
  });

  it('guidance moves by 0.5 within [0, 50], the range the desktop panel, the worker and the pipeline take', () => {
    expect(stepGuidance(7, 1)).toBe(7.5);
    expect(stepGuidance(0.5, -1)).toBe(0);
    expect(stepGuidance(0, -1)).toBe(0);
    expect(stepGuidance(20, 1)).toBe(20.5);
    expect(stepGuidance(50, 1)).toBe(50);
  });
});

describe('talkLabel', () => {
  const base: PushToTalkState = { status: 'idle', recognizer: 'whisper', transcript: '', error: null, speechDetected: false, model: null };
  it('says what push-to-talk is doing and that the keyboard still works after an error', () => {
    expect(talkLabel(base).button).toBe('Hold to talk');
    expect(talkLabel({ ...base, status: 'listening' }).status).toMatch(/Listening/);
    expect(talkLabel({ ...base, status: 'transcribing', model: { status: 'download', loaded: 1, total: 4, fraction: 0.25 } }).status).toBe('Loading speech model 25%');
    expect(talkLabel({ ...base, status: 'error', error: { kind: 'permission-denied', message: 'Microphone access was denied.' } }).status).toBe(
      'Microphone access was denied. The keyboard still works.',
    );
  });
});

describe('regenerateSettings', () => {
  const scene = { prompt: 'a cave', negativePrompt: 'blurry', settings: { steps: 20, guidance: 5, scheduler: 'euler', seed: 4242 } };
  it('same seed: every saved setting with the seed fixed', () => {
    expect(regenerateSettings(scene, true)).toEqual({
      prompt: 'a cave',
      negativePrompt: 'blurry',
      steps: 20,
      guidance: 5,
      scheduler: 'euler',
      deepCacheInterval: 1, // made before DeepCache: it ran without
      wrap: false, // made before wrap padding: zero padding, so the same seed remakes it
      seed: 4242,
      randomSeed: false,
    });
  });
  it("a scene's recorded wrap is used again", () => {
    expect(regenerateSettings({ ...scene, settings: { ...scene.settings, wrap: true } }, true).wrap).toBe(true);
  });
  it("a scene's recorded DeepCache interval is used again", () => {
    expect(regenerateSettings({ ...scene, settings: { ...scene.settings, preset: 'custom', deepCacheInterval: 3 } }, true).deepCacheInterval).toBe(3);
  });
  it('new seed: the settings with a random seed', () => {
    const s = regenerateSettings(scene, false);
    expect(s.randomSeed).toBe(true);
    expect(s.seed).toBeUndefined();
  });
  it('unknown scheduler or steps (imported pixels) keep the current ones', () => {
    const s = regenerateSettings({ ...scene, settings: { steps: 0, guidance: 0, scheduler: 'unknown', seed: 0 } }, true);
    expect(s).toEqual({ prompt: 'a cave', negativePrompt: 'blurry', seed: 0, randomSeed: false });
  });
  it('a scene without a seed (imported pixels) draws a new one even for "same seed"', () => {
    const s = regenerateSettings({ ...scene, settings: { steps: 0, guidance: 0, scheduler: 'unknown' } }, true);
    expect(s).toEqual({ prompt: 'a cave', negativePrompt: 'blurry', randomSeed: true });
  });
});

describe('VR preset and feature-cache buttons', () => {
  const settings = (patch: Parameters<typeof applySettingsPatch>[1]) => applySettingsPatch(DEFAULT_SETTINGS, patch, LDM3D_PANO_DEFAULTS);
  const model = (supportsDeepCache: boolean) => ({ supportsDeepCache }) as LoadedMessage;

  it('selects the current preset, none while custom, and says what it means in ASCII (the panel font)', () => {
    const headset = settings({ preset: 'headset' });
    expect(vrPresetButtons(headset, false).map((b) => [b.label, b.selected, b.disabled])).toEqual([
      ['Headset', true, false],
      ['Reference', false, false],
    ]);
    expect(vrPresetLine(headset)).toBe('DPM-Solver++ 2M, 20 steps');
    expect(vrPresetLine(settings({ preset: 'reference' }))).toBe('DDIM, 50 steps');
    const custom = settings({ preset: 'headset', steps: 25 });
    expect(vrPresetButtons(custom, false).some((b) => b.selected)).toBe(false);
    expect(vrPresetLine(custom)).toBe('Custom: DPM-Solver++ 2M, 25 steps');
    expect(vrPresetButtons(custom, true).every((b) => b.disabled)).toBe(true);
  });

  it('feature cache: off / every 2nd / every 3rd; disabled with the reason for a model without the graphs', () => {
    const s = settings({ deepCacheInterval: 2 });
    const on = vrDeepCacheButtons(s, model(true), false);
    expect(on.buttons.map((b) => [b.value, b.label, b.selected, b.disabled])).toEqual([
      [1, 'Cache off', false, false],
      [2, 'Every 2nd', true, false],
      [3, 'Every 3rd', false, false],
    ]);
    expect(on.reason).toBeNull();
    const off = vrDeepCacheButtons(s, model(false), false);
    expect(off.buttons.every((b) => b.disabled)).toBe(true);
    expect(off.buttons.find((b) => b.selected)!.value).toBe(1);
    expect(off.reason).toBe('no DeepCache graphs in this model');
    expect(off.reason).toMatch(/^[\x20-\x7e]*$/);
  });
});
