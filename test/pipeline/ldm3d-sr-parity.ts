/**
 * The LDM3D-SR goldens and one run of a case through Ldm3dSrPipeline, with the test assertions.
 * Shared by the WASM and WebGPU test files; the vitest-free part (ldm3d-sr-golden-run.ts) is shared
 * with the GPU machine's parity stage (bench/parity-webgpu.ts).
 */
import { expect } from 'vitest';
import type { Ldm3dSrPipeline } from '../../src/pipeline/sr/pipeline';
import { runSrGoldenCase, type SrCaseErrors, type SrGoldenCase } from './ldm3d-sr-golden-run';

export { loadSrCases, loadSrNpy, type SrCaseErrors, type SrGoldenCase } from './ldm3d-sr-golden-run';

export const SR_MODELS = 'models/tiny/ldm3d-sr';
export const TOLERANCE = 2e-3;

export async function runSrCase(pipe: Ldm3dSrPipeline, c: SrGoldenCase): Promise<SrCaseErrors> {
  const r = await runSrGoldenCase(pipe, c);
  expect(r.timesteps, `${c.name} timesteps`).toEqual(r.expectedTimesteps);
  return r.errors;
}
