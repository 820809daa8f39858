/**
 * The wrap goldens: diffusers' StableDiffusionLDM3DPipeline with every Conv2d patched to pad the
 * width circularly (F.pad(x, (l, r, 0, 0), mode='circular'), zeros for the height; models/wrap_conv.py
 * describes the rule), run on the tiny weights, written to test/fixtures/goldens/ldm3d-pano-wrap in
 * the layout of the plain goldens (goldens.ts GoldenDoc: cases.json + .npy files). A case may carry
 * `"wrap": false` for a run of the unpatched pipeline (the same export with wrap off); absent = true.
 * The tests that use them are skipped until that folder exists (the lead makes it on the GPU machine).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readNpy } from '../../src/node/npy';
import type { GenerateResult, Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { GOLDENS_ROOT, maxAbsDiff, parsePythonJson, type GoldenCase, type GoldenDoc } from './goldens';

export const WRAP_MODEL = 'models/tiny/ldm3d-pano-wrap';
export const WRAP_GOLDENS = new URL('ldm3d-pano-wrap/', GOLDENS_ROOT);

export type WrapGoldenCase = GoldenCase & { readonly wrap?: boolean };

export function haveWrapGoldens(): boolean {
  return existsSync(new URL('cases.json', WRAP_GOLDENS));
}

export function loadWrapCases(): Omit<GoldenDoc, 'cases'> & { cases: WrapGoldenCase[] } {
  return parsePythonJson(readFileSync(new URL('cases.json', WRAP_GOLDENS), 'utf8'));
}

function npy(file: string): { data: Float32Array; shape: number[] } {
  const a = readNpy(new Uint8Array(readFileSync(new URL(file, WRAP_GOLDENS))));
  if (!(a.data instanceof Float32Array)) throw new Error(`${file}: expected float32, got ${a.descr}`);
  return { data: a.data, shape: a.shape };
}

export interface WrapCaseErrors {
  readonly name: string;
  readonly wrap: boolean;
  readonly rgb: number;
  readonly depth: number;
  /** Max |Δ| of the latents after every step, relative to the trajectory's scale (as golden-run.ts). */
  readonly latents: number;
  readonly timestepsMatch: boolean;
}

/** One case through the pipeline with the case's wrap and its injected latents. */
export async function runWrapCase(pipe: Ldm3dPipeline, c: WrapGoldenCase): Promise<WrapCaseErrors> {
  const wrap = c.wrap ?? true;
  const trajectory = npy(c.latents_trajectory);
  const stepSize = trajectory.shape.slice(1).reduce((a, b) => a * b, 1);
  let latents = 0;
  const out: GenerateResult = await pipe.generate({
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    steps: c.num_inference_steps,
    guidance: c.guidance_scale,
    scheduler: c.scheduler,
    latents: npy(c.latents).data,
    height: c.height,
    width: c.width,
    wrap,
    preview: false,
    onStepLatents: (step, x) => {
      const want = trajectory.data.subarray((step - 1) * stepSize, step * stepSize);
      const scale = Math.max(1, ...Array.from(want, Math.abs));
      latents = Math.max(latents, maxAbsDiff(x, want) / scale);
    },
  });
  const expected = c.timesteps.map(Math.fround);
  return {
    name: c.name,
    wrap,
    rgb: maxAbsDiff(out.rgbFloat, npy(c.rgb).data),
    depth: maxAbsDiff(out.depth, npy(c.depth).data),
    latents,
    timestepsMatch: out.settings.timesteps.length === expected.length && out.settings.timesteps.every((t, i) => t === expected[i]),
  };
}
