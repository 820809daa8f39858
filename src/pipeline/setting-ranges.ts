/**
 * The ranges of the generation settings, defined once (issue 15): the pipelines, the worker
 * protocol, the CLI and both panels check and offer the same numbers with the same words.
 */

export interface NumberRange {
  readonly min: number;
  readonly max: number;
}

/** Diffusion steps: the schedulers' training timesteps are 1000, so more steps would repeat them. */
export const STEPS_RANGE: NumberRange = { min: 1, max: 1000 };

/**
 * Classifier-free guidance scale: ≤ 1 runs the UNet once per step (no guidance); above ~20 the
 * images saturate, 50 leaves room for experiments without letting a typo (700) through.
 */
export const GUIDANCE_RANGE: NumberRange = { min: 0, max: 50 };

/** What is wrong with a steps value (`what` names it: "steps", "--steps"), or null. */
export function stepsError(steps: number, what = 'steps'): string | null {
  return Number.isInteger(steps) && steps >= STEPS_RANGE.min && steps <= STEPS_RANGE.max
    ? null
    : `${what} must be a whole number from ${STEPS_RANGE.min} to ${STEPS_RANGE.max}, got ${String(steps)}`;
}

/** What is wrong with a guidance scale, or null. */
export function guidanceError(guidance: number, what = 'guidance'): string | null {
  return Number.isFinite(guidance) && guidance >= GUIDANCE_RANGE.min && guidance <= GUIDANCE_RANGE.max
    ? null
    : `${what} must be a number from ${GUIDANCE_RANGE.min} to ${GUIDANCE_RANGE.max}, got ${String(guidance)}`;
}
