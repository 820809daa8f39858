/**
 * One diffusers golden case through Ldm3dPipeline, without vitest: the errors (RGB and depth max
 * abs on [0, 1], latents after every step) and what else the case fixes (timesteps, token counts).
 * parity.ts turns these into test assertions; bench/parity-webgpu.ts runs the same cases on the GPU
 * machine (no vitest there) with the same bound.
 */
import type { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { GOLDENS_ROOT, loadNpy, maxAbsDiff, type GoldenCase, type GoldenSet } from './goldens';

/** RGB and depth max abs error on [0, 1] against diffusers: the bar for every backend. */
export const TOLERANCE = 2e-3;

export interface CaseErrors {
  name: string;
  rgb: number;
  depth: number;
  latents: number;
}

export interface GoldenCaseRun {
  readonly errors: CaseErrors;
  /** What the pipeline ran, next to what diffusers ran (a case is only comparable when they agree). */
  readonly timesteps: readonly number[];
  readonly expectedTimesteps: readonly number[];
  readonly promptTokens: { readonly count: number; readonly truncated: boolean };
  readonly expectedPromptTokens: { readonly count: number; readonly truncated: boolean };
}

export interface GoldenRunOptions {
  /**
   * Also compare the latents after every step (a read-back per step; relative to the trajectory's
   * scale). Off: `errors.latents` is NaN.
   */
  readonly trajectory?: boolean;
  readonly set?: GoldenSet;
  /** Where the golden sets are (default: test/fixtures/goldens next to this file). */
  readonly root?: URL;
}

export async function runGoldenCase(pipe: Ldm3dPipeline, c: GoldenCase, options: GoldenRunOptions = {}): Promise<GoldenCaseRun> {
  const trajectoryCheck = options.trajectory ?? true;
  const set = options.set ?? 'ldm3d-pano';
  const root = options.root ?? GOLDENS_ROOT;
  const latents = loadNpy(c.latents, set, root).data;
  const trajectory = loadNpy(c.latents_trajectory, set, root);
  const stepSize = trajectory.shape.slice(1).reduce((a, b) => a * b, 1);
  let latentErr = trajectoryCheck ? 0 : Number.NaN;
  const out = await pipe.generate({
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    steps: c.num_inference_steps,
    guidance: c.guidance_scale,
    scheduler: c.scheduler,
    latents,
    height: c.height,
    width: c.width,
    onStepLatents: !trajectoryCheck
      ? undefined
      : (step, x) => {
          const want = trajectory.data.subarray((step - 1) * stepSize, step * stepSize);
          // Relative to the trajectory's scale: Euler's latents start at σ_max ≈ 14.6.
          const scale = Math.max(1, ...Array.from(want, Math.abs));
          latentErr = Math.max(latentErr, maxAbsDiff(x, want) / scale);
        },
  });
  return {
    errors: {
      name: c.name,
      rgb: maxAbsDiff(out.rgbFloat, loadNpy(c.rgb, set, root).data),
      depth: maxAbsDiff(out.depth, loadNpy(c.depth, set, root).data),
      latents: latentErr,
    },
    timesteps: out.settings.timesteps,
    expectedTimesteps: c.timesteps.map(Math.fround),
    promptTokens: { count: out.tokens.prompt.count, truncated: out.tokens.prompt.truncated },
    expectedPromptTokens: { count: c.prompt_untruncated_length, truncated: c.prompt_untruncated_length > 77 },
  };
}

/** What parity.ts asserts besides the bound, as messages (empty: the run is the case diffusers ran). */
export function caseMismatches(r: GoldenCaseRun): string[] {
  const out: string[] = [];
  const same = r.timesteps.length === r.expectedTimesteps.length && r.timesteps.every((t, i) => t === r.expectedTimesteps[i]);
  if (!same) out.push(`timesteps [${r.timesteps.join(', ')}], diffusers [${r.expectedTimesteps.join(', ')}]`);
  if (r.promptTokens.count !== r.expectedPromptTokens.count) out.push(`prompt tokens ${r.promptTokens.count}, diffusers ${r.expectedPromptTokens.count}`);
  if (r.promptTokens.truncated !== r.expectedPromptTokens.truncated) out.push(`prompt truncated ${r.promptTokens.truncated}, diffusers ${r.expectedPromptTokens.truncated}`);
  return out;
}
