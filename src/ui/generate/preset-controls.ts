/**
 * What the preset selector and the feature-cache (DeepCache) control show, for both panels (the
 * desktop Generate panel and the VR prompt section). Pure: tested without React or uikit.
 */
import {
  PRESET_NAMES,
  PRESET_TITLES,
  deepCacheLabel,
  presetLabel,
  presetValues,
  type PresetChoice,
  type PresetValues,
} from '../../pipeline/presets';
import { modelDefaultsOf, type GenerationSettings } from '../../state/generation';
import type { LoadedMessage } from '../../workers/protocol';

export interface PresetOption {
  readonly value: PresetChoice;
  /** "Headset — DPM-Solver++ 2M, 20 steps": the name and what it means for the loaded model. */
  readonly label: string;
  /** 'custom' is shown while the settings are custom, but cannot be picked. */
  readonly disabled: boolean;
}

/** The current settings as preset values. */
export function valuesOf(settings: Pick<GenerationSettings, 'scheduler' | 'steps' | 'deepCacheInterval'>): PresetValues {
  return { scheduler: settings.scheduler, steps: settings.steps, deepCacheInterval: settings.deepCacheInterval };
}

/**
 * The selector's entries: every named preset with its values (for 'reference', the loaded model's
 * defaults), and, while the settings are hand-made, 'custom' with theirs.
 */
export function presetOptions(settings: GenerationSettings, model: LoadedMessage | null): PresetOption[] {
  const defaults = modelDefaultsOf(model);
  const named = PRESET_NAMES.map((name) => ({ value: name, label: presetLabel(name, presetValues(name, defaults)), disabled: false }));
  return settings.preset === 'custom' ? [...named, { value: 'custom', label: presetLabel('custom', valuesOf(settings)), disabled: true }] : named;
}

/** The line that says what the settings are now ("Headset — DPM-Solver++ 2M, 20 steps"). */
export function currentPresetLabel(settings: GenerationSettings): string {
  return presetLabel(settings.preset, valuesOf(settings));
}

/** The feature cache's choices: off, every 2nd step, every 3rd step (the intervals issue 11 measures). */
export const DEEPCACHE_CHOICES: readonly number[] = [1, 2, 3];

export interface DeepCacheOption {
  readonly value: number;
  readonly label: string;
}

/** The choices, plus the current interval where it is another one (from a scene's metadata). */
export function deepCacheOptions(current: number): DeepCacheOption[] {
  const values = DEEPCACHE_CHOICES.includes(current) ? DEEPCACHE_CHOICES : [...DEEPCACHE_CHOICES, current].sort((a, b) => a - b);
  return values.map((value) => ({ value, label: deepCacheLabel(value) }));
}

export interface DeepCacheControl {
  readonly enabled: boolean;
  /** Why it is disabled, for the user; null when enabled. */
  readonly reason: string | null;
  /** The interval the next generation runs with (the setting, or off for a model without the graphs). */
  readonly shown: number;
}

export const NO_DEEPCACHE_REASON = 'This model has no DeepCache graphs (export it with models/export.py --deepcache).';

/**
 * Enabled until a model is loaded (whether it has the graphs is known from the 'loaded' message; a
 * model without them then runs with the cache off and says so), disabled with the reason after.
 */
export function deepCacheControl(settings: Pick<GenerationSettings, 'deepCacheInterval'>, model: LoadedMessage | null): DeepCacheControl {
  if (model && !model.supportsDeepCache) return { enabled: false, reason: NO_DEEPCACHE_REASON, shown: 1 };
  return { enabled: true, reason: null, shown: settings.deepCacheInterval };
}

/** The preset's short name ("Headset"). */
export function presetTitle(choice: PresetChoice): string {
  return PRESET_TITLES[choice];
}
