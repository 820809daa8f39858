/**
 * What the "Seamless 360°" toggle (issue 12: wrap padding) shows, for both panels (the desktop
 * Generate panel and the VR prompt section). Pure: tested without React or uikit.
 */
import { effectiveWrap, type GenerationSettings } from '../../state/generation';
import type { LoadedMessage } from '../../workers/protocol';

export const WRAP_LABEL = 'Seamless 360°';
/** Kept without "°": the VR e2e tests and the headset screenshots name the button this way. */
export const VR_WRAP_LABEL = 'Seamless 360';

/** The tooltip: what on and off mean. */
export const WRAP_TITLE =
  "On: the model's convolutions see the panorama as the cylinder it is, so there is no seam behind you. Off: zero padding at the edges, exactly diffusers.";

/** Why the toggle is disabled for a model without wrapped graphs (desktop: the whole reason). */
export const NO_WRAP_REASON = 'This model has no wrapped graphs (export it with models/export.py --wrap).';

/** The same for the VR row, which has room for the gist only. */
export const VR_NO_WRAP_REASON = 'no wrapped graphs';

export interface WrapControl {
  readonly enabled: boolean;
  /** Why it is disabled, for the user; null when enabled. */
  readonly reason: string | null;
  /** What the next generation runs with (the setting, or off for a model without wrapped graphs). */
  readonly checked: boolean;
}

/**
 * Enabled until a model is loaded (whether it has wrapped graphs is known from the 'loaded'
 * message), then disabled with the reason for a model without them, shown off because off is what
 * runs there; the setting itself is kept for the next model.
 */
export function wrapControl(settings: Pick<GenerationSettings, 'wrap'>, model: LoadedMessage | null): WrapControl {
  if (model && !model.supportsWrap) return { enabled: false, reason: NO_WRAP_REASON, checked: false };
  return { enabled: true, reason: null, checked: model ? effectiveWrap(settings, model) : settings.wrap };
}
