/**
 * Generation presets: which scheduler, how many steps and which DeepCache interval a generation
 * uses, named so that the app, the CLI and a scene's metadata agree on them (issue 11 §1).
 *
 * - 'headset': DPM-Solver++ 2M at 20 steps. DPM-Solver++ (Lu et al., arXiv 2211.01095) reaches
 *   the quality of 50 DDIM steps in about 20 UNet evaluations for SD-1.x-class latent diffusion
 *   models, which LDM3D-pano is; on a headset every UNet call costs seconds, so this is 2.5× fewer.
 * - 'reference': the model's own defaults (manifest.defaults: DDIM, 50 steps for ldm3d-pano), i.e.
 *   exactly what diffusers runs when given no options; the feature cache is off.
 * - 'custom': anything else (steps or scheduler edited by hand). Not a preset one can pick.
 *
 * This module also holds the "mobile GPU or headset browser" detection, shared with the memory
 * policy in pano/memory-policy.ts (chooseMemoryPolicy / lowMemoryAdvice), so both decisions agree on which
 * devices are headset-class. No other imports: the UI, the worker, the exporter and the CLI use it.
 */
import type { SchedulerName } from './schedulers/common';

export type PresetName = 'headset' | 'reference';
/** What the settings are: a named preset's values, or 'custom'. */
export type PresetChoice = PresetName | 'custom';

export const PRESET_NAMES: readonly PresetName[] = ['headset', 'reference'];
export const PRESET_CHOICES: readonly PresetChoice[] = ['headset', 'reference', 'custom'];

/** The settings a preset fixes (guidance, seed and prompt stay the user's). */
export interface PresetValues {
  readonly scheduler: SchedulerName;
  readonly steps: number;
  /** DeepCache: a full UNet step every N steps, the shallow branch on the others; 1 = off. */
  readonly deepCacheInterval: number;
}

/** What a model's manifest.defaults say (the 'reference' preset); a ManifestSummary's defaults fit. */
export interface ModelDefaults {
  readonly scheduler: SchedulerName;
  readonly steps: number;
}

/**
 * The DeepCache interval the headset preset uses: the full UNet every 3rd step. Issue 11's rule was
 * "on only if it saves at least 1.5× per panorama at the preset's 20 steps"; on the H100 with the
 * full-size architecture, int8, staged, split guidance, UNet kept (bench/results/2026-12-07-h100-headset/,
 * BENCHMARKS.md "Headset"), a warm panorama took 12.69 s without it, 6.83 s with N = 3 (1.86×) and
 * 8.23 s with N = 2 (1.54×). A model exported without the DeepCache graphs runs it off (notice).
 */
export const HEADSET_DEEPCACHE_INTERVAL = 3;

export const HEADSET_STEPS = 20;
export const HEADSET_SCHEDULER: SchedulerName = 'dpm';

/** Limits of a DeepCache interval everywhere (UI, worker protocol, metadata, CLI): whole numbers. */
export const MIN_DEEPCACHE_INTERVAL = 1;
export const MAX_DEEPCACHE_INTERVAL = 10;

/**
 * ldm3d-pano's manifest.defaults, for when no model is loaded yet (the app's first screen); the
 * loaded model's own defaults replace them (manifest.defaults is what 'reference' means).
 */
export const LDM3D_PANO_DEFAULTS: ModelDefaults = { scheduler: 'ddim', steps: 50 };

export const SCHEDULER_LABELS: Readonly<Record<SchedulerName, string>> = {
  ddim: 'DDIM',
  pndm: 'PNDM',
  euler: 'Euler',
  dpm: 'DPM-Solver++ 2M',
};

export const PRESET_TITLES: Readonly<Record<PresetChoice, string>> = {
  headset: 'Headset',
  reference: 'Reference',
  custom: 'Custom',
};

/** The values of a named preset; 'reference' needs the model's defaults. */
export function presetValues(name: PresetName, model: ModelDefaults = LDM3D_PANO_DEFAULTS): PresetValues {
  switch (name) {
    case 'headset':
      return { scheduler: HEADSET_SCHEDULER, steps: HEADSET_STEPS, deepCacheInterval: HEADSET_DEEPCACHE_INTERVAL };
    case 'reference':
      return { scheduler: model.scheduler, steps: model.steps, deepCacheInterval: 1 };
  }
}

/** The named preset whose values these are, else 'custom'. */
export function matchingPreset(values: PresetValues, model: ModelDefaults = LDM3D_PANO_DEFAULTS): PresetChoice {
  for (const name of PRESET_NAMES) {
    const p = presetValues(name, model);
    if (p.scheduler === values.scheduler && p.steps === values.steps && p.deepCacheInterval === values.deepCacheInterval) return name;
  }
  return 'custom';
}

export function isPresetName(v: unknown): v is PresetName {
  return typeof v === 'string' && (PRESET_NAMES as readonly string[]).includes(v);
}

export function isPresetChoice(v: unknown): v is PresetChoice {
  return typeof v === 'string' && (PRESET_CHOICES as readonly string[]).includes(v);
}

/** The interval in words, "off", "every 2nd step", "every 3rd step", …: how often the full UNet runs. */
export function deepCacheLabel(interval: number): string {
  if (interval <= 1) return 'off';
  return `every ${ordinal(interval)} step`;
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

/** "Headset — DPM-Solver++ 2M, 20 steps" (plus the feature cache when it is on). */
export function presetLabel(choice: PresetChoice, values: PresetValues): string {
  const cache = values.deepCacheInterval > 1 ? `, feature cache (full UNet ${deepCacheLabel(values.deepCacheInterval)})` : '';
  const base = `${SCHEDULER_LABELS[values.scheduler]}, ${values.steps} step${values.steps === 1 ? '' : 's'}${cache}`;
  return `${PRESET_TITLES[choice]} — ${base}${choice === 'reference' ? " (the model's defaults, as diffusers)" : ''}`;
}

/** Null when `v` is a valid DeepCache interval, else what is wrong (one wording for every caller). */
export function deepCacheIntervalError(v: unknown): string | null {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_DEEPCACHE_INTERVAL || v > MAX_DEEPCACHE_INTERVAL) {
    return `deepCacheInterval must be a whole number from ${MIN_DEEPCACHE_INTERVAL} to ${MAX_DEEPCACHE_INTERVAL} (got ${String(v)})`;
  }
  return null;
}

// ---------------------------------------------------------------- headset-class detection

/** Mobile GPUs (memory shared with the CPU, a fraction of a desktop GPU's compute). */
export const MOBILE_ADAPTER = /qualcomm|adreno|\barm\b|mali|powervr|imagination|apple.*(iphone|ipad)/i;
/** Headset and mobile browsers (Quest's Oculus Browser / Meta Quest Browser, Pico, Vision Pro, phones). */
export const MOBILE_AGENT = /OculusBrowser|Quest|Android|Mobile|Pico|Vision/i;

/** What the detection reads: navigator.userAgent and the WebGPU adapter's vendor/architecture/description. */
export interface DeviceClues {
  readonly userAgent?: string;
  readonly adapter?: string;
}

/** A mobile GPU or a headset/mobile browser: where the memory policy stages and the headset preset is the default. */
export function isHeadsetClass(env: DeviceClues): boolean {
  return MOBILE_ADAPTER.test(env.adapter ?? '') || MOBILE_AGENT.test(env.userAgent ?? '');
}

/** 'headset' on headset-class devices, 'reference' elsewhere (both are offered everywhere). */
export function defaultPreset(env: DeviceClues): PresetName {
  return isHeadsetClass(env) ? 'headset' : 'reference';
}
