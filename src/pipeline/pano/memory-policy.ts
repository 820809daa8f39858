/**
 * The pano pipeline's memory decisions, apart from the pipeline that applies them: which sessions
 * stay loaded (chooseMemoryPolicy), how guidance runs the UNet, whether and how the VAE decodes in
 * tiles, and the advice a headset gets for an export too large for it. Plain functions of the
 * manifest and the environment, tested without a GPU (test/pipeline/pano/memory-policy.test.ts).
 */
import { PipelineError, reasonOf } from '../../model/errors';
import type { Manifest } from '../../model/manifest';
import type { Backend, OrtRuntime } from '../../runtime/ort';
// Mobile GPUs (shared memory) and headset browsers: one detection for the memory policy and the presets.
import { MOBILE_ADAPTER, MOBILE_AGENT } from '../presets';
import { resolveTiling, type VaeTiling } from '../vae-tiling';

/**
 * 'resident': every session stays loaded (fastest: nothing is created per generation).
 * 'staged': one session at a time, created for its stage and released after it (peak memory =
 * the largest stage, not the sum; costs session creation on every generation).
 */
export type MemoryPolicy = 'resident' | 'staged';

export type GuidanceBatch = 'batched' | 'split';

/** LoadOptions.vaeTiling: 'off', 'auto' (tiles when staged) or diffusers' tile size in latent cells. */
export type VaeTilingOption = 'off' | 'auto' | { readonly latentTile: number; readonly overlap?: number };

export function resolveGuidanceBatch(option: GuidanceBatch | 'auto' | undefined, memory: MemoryPolicy): GuidanceBatch {
  const o = option ?? 'auto';
  if (o === 'auto') return memory === 'staged' ? 'split' : 'batched';
  if (o !== 'batched' && o !== 'split') throw new PipelineError('bad-option', `guidanceBatch must be 'batched', 'split' or 'auto', got ${String(o)}`);
  return o;
}

/** Intel/ldm3d-pano's vae.config.sample_size, for manifests written before they recorded it. */
const FALLBACK_VAE_SAMPLE_SIZE = 256;

/**
 * diffusers' default tiling for the model: tile_sample_min_size = vae.config.sample_size,
 * tile_latent_min_size = int(sample_size / vae_scale_factor), tile_overlap_factor 0.25
 * (LDM3D-pano: 256 px = 32 latent cells, so a 512×1024 image is 3 × 6 tiles).
 */
export function defaultVaeTiling(m: Manifest): VaeTiling {
  const sample = m.vae_sample_size ?? FALLBACK_VAE_SAMPLE_SIZE;
  // A tile that is not a multiple of 4 cells would make diffusers' loops return the wrong image
  // size (resolveTiling); such a sample_size (none known) gets the multiple of 4 below it.
  const latentTile = Math.max(4, 4 * Math.floor(Math.floor(sample / m.vae_scale_factor) / 4));
  return resolveTiling({ latentTile }, m.vae_scale_factor);
}

export function resolveVaeTiling(m: Manifest, option: VaeTilingOption | undefined, memory: MemoryPolicy): VaeTiling | null {
  const o = option ?? 'auto';
  if (o === 'off') return null;
  if (o === 'auto') return memory === 'staged' ? defaultVaeTiling(m) : null;
  if (typeof o !== 'object' || o === null) throw new PipelineError('bad-option', `vaeTiling must be 'off', 'auto' or { latentTile }, got ${String(o)}`);
  try {
    return resolveTiling(o, m.vae_scale_factor);
  } catch (e) {
    throw new PipelineError('bad-option', reasonOf(e));
  }
}

/** What chooseMemoryPolicy looks at (navigator, the adapter, the model); injectable for tests. */
export interface MemoryEnvironment {
  readonly backend: Backend;
  /** navigator.deviceMemory (GiB, rounded down by the browser to 0.25…8), or undefined. */
  readonly deviceMemoryGiB?: number;
  /** navigator.userAgent, or ''. */
  readonly userAgent?: string;
  /** The adapter's vendor/architecture/description, as OrtRuntime.adapter. */
  readonly adapter?: string;
  /** Bytes of the text encoder, UNet and VAE decoder files together. */
  readonly weightBytes: number;
}

/** Above this many bytes of weights, WASM stages the sessions: the wasm heap is 4 GiB in all. */
const WASM_RESIDENT_LIMIT = 1.5 * 2 ** 30;

/**
 * The default memory policy. Staging costs session creation on every generation (~7 s for the
 * full-size fp32 model on an H100: BENCHMARKS.md), so it is chosen only where resident sessions
 * would not fit: a mobile GPU or headset (Quest 3: 8 GB shared by the OS, the browser and the
 * compositor; the resident pipeline peaked at 14.6 GiB), a device reporting less than 8 GiB
 * (navigator.deviceMemory is capped at 8, so 8 cannot tell an 8 GB laptop from a 64 GB desktop:
 * those stay resident, and a desktop with a discrete GPU is the common case there), or WASM with
 * weights that would crowd the 4 GiB heap. Small models (the tiny test models, ~3 MB) always stay
 * resident.
 */
export function chooseMemoryPolicy(env: MemoryEnvironment): MemoryPolicy {
  const small = env.weightBytes < 256 * 2 ** 20;
  if (small) return 'resident';
  if (env.backend === 'wasm') return env.weightBytes > WASM_RESIDENT_LIMIT ? 'staged' : 'resident';
  if (MOBILE_ADAPTER.test(env.adapter ?? '') || MOBILE_AGENT.test(env.userAgent ?? '')) return 'staged';
  if (env.deviceMemoryGiB !== undefined && env.deviceMemoryGiB < 8) return 'staged';
  return 'resident';
}

/** UNet weight bytes above which a headset is told to use the int8 export (fp32: 3.44 GB, float16 1.72, int8 0.86). */
const HEADSET_UNET_LIMIT = 1.2e9;

/**
 * A mobile GPU or headset (where the staged policy is the default) with an export whose UNet weights
 * alone are too large for the ~3 GB a Quest 3 gives a page: say so before the first generation runs
 * out of memory, and name the export that fits (BENCHMARKS.md: int8, 2.56 GiB peak). Null otherwise.
 */
export function lowMemoryAdvice(env: MemoryEnvironment, manifest: Manifest): string | null {
  if (env.backend !== 'webgpu' || !(MOBILE_ADAPTER.test(env.adapter ?? '') || MOBILE_AGENT.test(env.userAgent ?? ''))) return null;
  const unet = manifest.sessions.unet;
  if (!unet) return null;
  const folder = unet.file.includes('/') ? unet.file.slice(0, unet.file.lastIndexOf('/') + 1) : '';
  const paths = new Set([unet.file, ...unet.external_data.map((d) => folder + d)]);
  const bytes = manifest.files.filter((f) => paths.has(f.path)).reduce((a, f) => a + f.bytes, 0);
  if (bytes <= HEADSET_UNET_LIMIT) return null;
  const storage = manifest.weight_storage === 'float16-widened' ? 'float16' : 'float32';
  return (
    `This export keeps the UNet's weights in ${storage} (${(bytes / 1e9).toFixed(2)} GB), more than this device's GPU is likely to hold next to a generation; ` +
    'if it runs out of memory, use the int8 export (models/narrow_weights.py --storage int8, README "Real weights").'
  );
}

export function memoryEnvironment(runtime: OrtRuntime, manifest: Manifest): MemoryEnvironment {
  const nav = (globalThis as { navigator?: { deviceMemory?: number; userAgent?: string } }).navigator;
  const files = new Set<string>();
  for (const name of ['text_encoder', 'unet', 'vae_decoder'] as const) {
    const spec = manifest.sessions[name];
    if (!spec) continue;
    files.add(spec.file);
    const folder = spec.file.includes('/') ? spec.file.slice(0, spec.file.lastIndexOf('/') + 1) : '';
    for (const d of spec.external_data) files.add(folder + d);
  }
  const weightBytes = manifest.files.filter((f) => files.has(f.path)).reduce((a, f) => a + f.bytes, 0);
  // Node (CLI, tests, bench) has a navigator without deviceMemory; only a browser's value counts.
  return { backend: runtime.backend, deviceMemoryGiB: nav?.deviceMemory, userAgent: nav?.userAgent ?? '', adapter: runtime.adapter, weightBytes };
}
