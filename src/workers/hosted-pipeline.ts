/**
 * What the worker host needs from a loaded pipeline. The host (host.ts) is written against this
 * small interface, not against src/pipeline directly, so it can be unit-tested with a fake and the
 * real pipeline is adapted in one place (pipeline-adapter.ts).
 */
import type { ModelSource } from '../model/manifest';
import type { Backend, BackendPreference, GenerateParams, Preview, TokenInfo } from './protocol';

export interface StepHooks {
  readonly signal: AbortSignal;
  /** Once, after tokenizing: untruncated token counts, for the truncation notice. */
  onTokens(prompt: TokenInfo, negative: TokenInfo): void;
  /**
   * After every UNet call (1-based; PNDM makes steps + 1 calls, so `total` may exceed the step
   * count); `preview` is a cheap low-resolution picture or null; `etaMs` the pipeline's own
   * estimate of the time left (null: the host estimates it).
   */
  onStep(step: number, total: number, preview: Preview | null, etaMs?: number | null): void;
}

export interface PipelineOutput {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8ClampedArray;
  readonly depth: Float32Array;
  readonly depth16: Uint16Array;
  readonly tokens: { readonly prompt: TokenInfo; readonly negative: TokenInfo };
  readonly timings: Readonly<Record<string, number>>;
  /** The prompt the text encoder read (the template applied by the pipeline), for the metadata. */
  readonly sentPrompt: string;
}

export interface HostedPipeline {
  readonly backend: Backend;
  /** What the user must be told about this load (back-end fallback, missing features). */
  readonly notices: readonly string[];
  /** One line on where and how it runs (Ldm3dPipeline.runtimeSummary); optional for fakes. */
  readonly runtimeSummary?: string;
  /** The export has the DeepCache graphs (Ldm3dPipeline.supportsDeepCache); absent = false. */
  readonly supportsDeepCache?: boolean;
  /** The export has wrapped graphs (Ldm3dPipeline.supportsWrap); absent = false. */
  readonly supportsWrap?: boolean;
  /** Rejects with an AbortError once `hooks.signal` aborts; the sessions stay usable. */
  generate(params: GenerateParams, hooks: StepHooks): Promise<PipelineOutput>;
  /**
   * Optional: runs every stage once at the default shapes so the first generation compiles no
   * shaders (Ldm3dPipeline.warmUp). The host starts it after a load and aborts it (awaiting the
   * end) before any other job; it rejects once `signal` aborts.
   */
  warmUp?(signal: AbortSignal): Promise<void>;
  dispose(): Promise<void>;
}

export interface LoadHooks {
  readonly signal: AbortSignal;
  /** Session creation, stage by stage (the files are downloaded and verified by then). */
  onProgress?(stage: string, done: number, total: number): void;
  /**
   * The GPU ran out of memory with an earlier load: load so that the least is on the GPU at once
   * (Ldm3dPipeline's 'staged' memory policy: one stage's session at a time, guidance split,
   * tiled VAE decode). Slower per generation, smaller peak.
   */
  readonly lowMemory?: boolean;
}

export type PipelineLoader = (source: ModelSource, backend: BackendPreference, hooks: LoadHooks) => Promise<HostedPipeline>;

/** True for a pipeline error saying the GPU (or, on WASM, the wasm heap) ran out of memory. */
export function isOutOfMemory(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'out-of-memory';
}

/** True for the error a run ends with when the GPU device was lost (driver reset, tab in the background on mobile). */
export function isDeviceLost(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { name, code, message } = e as { name?: unknown; code?: unknown; message?: unknown };
  if (name === 'GPUDeviceLostError' || code === 'device-lost') return true;
  return typeof message === 'string' && /\bdevice (?:was |is |has been )?lost\b/i.test(message);
}

export function isAbort(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return name === 'AbortError' || (name === 'PipelineError' && code === 'cancelled');
}

/** Diffusers' 16-bit depth: (d · 65535).astype(uint16), which truncates. */
export function depthTo16(depth: Float32Array): Uint16Array {
  const out = new Uint16Array(depth.length);
  for (let i = 0; i < depth.length; i++) {
    const d = depth[i];
    out[i] = d >= 1 ? 65535 : d > 0 ? Math.trunc(d * 65535) : 0;
  }
  return out;
}
