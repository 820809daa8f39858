/** Loads the diffusers goldens written by models/goldens.py (test/fixtures/goldens). */
import { readFileSync } from 'node:fs';
import { readNpy } from '../../src/node/npy';

/**
 * Where the golden sets live. A bundled copy of this module (bench/parity-webgpu.ts on the GPU
 * machine) is not next to test/, so loadCases/loadNpy take another root there.
 */
export const GOLDENS_ROOT = new URL('../fixtures/goldens/', import.meta.url);

/** Python's json module writes the bare tokens -Infinity/Infinity/NaN, which JSON.parse refuses. */
export function parsePythonJson<T>(text: string): T {
  const quoted = text.replace(/(?<=[:[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '"__py_$1"');
  return JSON.parse(quoted, (_k, v: unknown) => {
    if (v === '__py_-Infinity') return -Infinity;
    if (v === '__py_Infinity') return Infinity;
    if (v === '__py_NaN') return NaN;
    return v;
  }) as T;
}

export interface GoldenCase {
  name: string;
  prompt: string;
  negative_prompt: string | null;
  num_inference_steps: number;
  guidance_scale: number;
  do_classifier_free_guidance: boolean;
  scheduler: 'ddim' | 'pndm' | 'euler' | 'dpm';
  timesteps: number[];
  init_noise_sigma: number;
  height: number;
  width: number;
  seed: number;
  latents: string;
  latents_trajectory: string;
  rgb: string;
  depth: string;
  prompt_token_ids: number[];
  prompt_untruncated_length: number;
  negative_token_ids: number[];
  negative_untruncated_length: number;
}

export interface GoldenDoc {
  vae_scaling_factor: number;
  debug: { case: string; prompt_embeds: string; negative_prompt_embeds: string };
  cases: GoldenCase[];
}

/**
 * A set of goldens: 'ldm3d-pano' (models/tiny/ldm3d-pano, float32 weights) or 'ldm3d-pano-f16'
 * (models/tiny/ldm3d-pano-f16: float16-stored weights) or 'ldm3d-pano-int8' (per-channel int8 weights):
 * diffusers with the same weights rounded (models/goldens_narrow.py).
 */
export type GoldenSet = 'ldm3d-pano' | 'ldm3d-pano-f16' | 'ldm3d-pano-int8';

export function loadCases(set: GoldenSet = 'ldm3d-pano', root: URL = GOLDENS_ROOT): GoldenDoc {
  return parsePythonJson<GoldenDoc>(readFileSync(new URL(`${set}/cases.json`, root), 'utf8'));
}

export function loadNpy(file: string, set: GoldenSet = 'ldm3d-pano', root: URL = GOLDENS_ROOT): { data: Float32Array; shape: number[] } {
  const a = readNpy(new Uint8Array(readFileSync(new URL(`${set}/${file}`, root))));
  if (!(a.data instanceof Float32Array)) throw new Error(`${file}: expected float32, got ${a.descr}`);
  return { data: a.data, shape: a.shape };
}

export function loadSchedulerGoldens<T>(): T {
  return parsePythonJson<T>(readFileSync(new URL('schedulers.json', GOLDENS_ROOT), 'utf8'));
}

/** Largest |a − b|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
