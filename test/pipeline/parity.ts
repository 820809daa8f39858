/**
 * Runs every diffusers golden case through Ldm3dPipeline and checks RGB and depth (max abs ≤ 2e-3 on
 * [0, 1], the bar), the latents after every step, and the token counts. Shared by the
 * WASM and the WebGPU test files; the vitest-free part (golden-run.ts) is shared with the GPU
 * machine's parity stage (bench/parity-webgpu.ts).
 */
import { expect } from 'vitest';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { loadCases, type GoldenCase, type GoldenSet } from './goldens';
import { runGoldenCase, type CaseErrors } from './golden-run';

export { TOLERANCE, type CaseErrors } from './golden-run';

/**
 * `trajectory`: also compare the latents after every step (a read-back per step; on by default,
 * off for the slow WebGPU-on-SwiftShader runs, where latents-gpu.test.ts covers the step maths).
 */
export async function runCase(pipe: Ldm3dPipeline, c: GoldenCase, trajectoryCheck = true, set: GoldenSet = 'ldm3d-pano'): Promise<CaseErrors> {
  const r = await runGoldenCase(pipe, c, { trajectory: trajectoryCheck, set });
  expect(r.timesteps, `${c.name} timesteps`).toEqual(r.expectedTimesteps);
  expect(r.promptTokens.count, `${c.name} prompt tokens`).toBe(r.expectedPromptTokens.count);
  expect(r.promptTokens.truncated).toBe(r.expectedPromptTokens.truncated);
  return r.errors;
}

export async function runAllCases(pipe: Ldm3dPipeline): Promise<CaseErrors[]> {
  const results: CaseErrors[] = [];
  for (const c of loadCases().cases) results.push(await runCase(pipe, c));
  return results;
}
