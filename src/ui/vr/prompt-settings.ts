/** Pure steps of the VR panel's settings buttons and push-to-talk labels (tested without uikit). */
import type { PushToTalkState } from '../../speech/push-to-talk';
import type { GenerationSettings } from '../../state/generation';
import type { LoadedMessage } from '../../workers/protocol';
import { PRESET_NAMES, type PresetName } from '../../pipeline/presets';
import { vrText } from './vr-font';
import { GUIDANCE_RANGE, STEPS_RANGE } from '../../pipeline/setting-ranges';
import { DEEPCACHE_CHOICES, currentPresetLabel, deepCacheControl, presetTitle } from '../generate/preset-controls';

const { min: MIN_STEPS, max: MAX_STEPS } = STEPS_RANGE;

/**
 * One press of Steps -/+: by 1 up to 10 (tiny test runs use 2-3), by 5 up to 100, by 25 above.
 * `direction` 0 only clamps.
 */
export function stepSteps(steps: number, direction: -1 | 0 | 1): number {
  const s = Number.isFinite(steps) ? Math.round(steps) : 50;
  if (direction === 0) return Math.min(MAX_STEPS, Math.max(MIN_STEPS, s));
  const below = direction < 0 ? s - 1 : s; // the band the result lands in
  const delta = below < 10 ? 1 : below < 100 ? 5 : 25;
  return Math.min(MAX_STEPS, Math.max(MIN_STEPS, s + direction * delta));
}

const { min: MIN_GUIDANCE, max: MAX_GUIDANCE } = GUIDANCE_RANGE;

/** One press of Guidance -/+: steps of 0.5 within the range every other entry point takes. */
export function stepGuidance(g: number, direction: -1 | 1): number {
  const v = Number.isFinite(g) ? Math.round(g * 2) / 2 : 7;
  return Math.min(MAX_GUIDANCE, Math.max(MIN_GUIDANCE, v + direction * 0.5));
}

/** The Talk button's label and the line under the prompt for a push-to-talk state. */
export function talkLabel(state: PushToTalkState): { button: string; status: string } {
  switch (state.status) {
    case 'listening':
      return { button: 'Listening...', status: state.transcript ? state.transcript : 'Listening: release to stop.' };
    case 'transcribing':
      return {
        button: 'Talk',
        status: state.model ? `Loading speech model ${Math.round(state.model.fraction * 100)}%` : 'Transcribing...',
      };
    case 'error':
      return { button: 'Talk', status: `${state.error?.message ?? 'Speech failed.'} The keyboard still works.` };
    default:
      return { button: 'Hold to talk', status: '' };
  }
}

export interface VRChoice<T> {
  readonly value: T;
  readonly label: string;
  readonly selected: boolean;
  readonly disabled: boolean;
}

/** The preset buttons (Headset, Reference): the current one is selected; none is while custom. */
export function vrPresetButtons(settings: Pick<GenerationSettings, 'preset'>, running: boolean): VRChoice<PresetName>[] {
  return PRESET_NAMES.map((name) => ({ value: name, label: presetTitle(name), selected: settings.preset === name, disabled: running }));
}

/**
 * The text beside the preset buttons, in the panel font's ASCII: what the selected preset runs
 * (the buttons already name it), or 'Custom: …' when no preset is selected. Short, so the row does
 * not wrap: every extra row lifts the centred panel into the line of sight.
 */
export function vrPresetLine(settings: GenerationSettings): string {
  const full = currentPresetLabel(settings);
  // The feature cache has its own row of buttons right below; the line stays one short line.
  const what = full
    .slice(full.indexOf('—') + 1)
    .replace(" (the model's defaults, as diffusers)", '')
    .replace(/, feature cache \(full UNet [^)]*\)/, '')
    .trim();
  return vrText(settings.preset === 'custom' ? `Custom: ${what}` : what);
}

/**
 * The feature-cache buttons (Off, Every 2nd, Every 3rd) and, when the loaded model has no
 * DeepCache graphs, why they are disabled (then 'Off' is shown selected: that is what runs).
 */
export function vrDeepCacheButtons(
  settings: Pick<GenerationSettings, 'deepCacheInterval'>,
  model: LoadedMessage | null,
  running: boolean,
): { buttons: VRChoice<number>[]; reason: string | null } {
  const c = deepCacheControl(settings, model);
  const label = (n: number): string => (n === 1 ? 'Cache off' : n === 2 ? 'Every 2nd' : n === 3 ? 'Every 3rd' : `Every ${n}th`);
  return {
    buttons: DEEPCACHE_CHOICES.map((value) => ({ value, label: label(value), selected: c.shown === value, disabled: running || !c.enabled })),
    // The desktop panel gives the whole reason (how to export the graphs); the VR row has room for the gist.
    reason: c.reason === null ? null : 'no DeepCache graphs in this model',
  };
}
