/**
 * The worker's LDM3D-SR side ("Sharpen what you look at"), kept apart from host.ts so the pano
 * flow stays as it is: host.ts runs `sharpen` as one of its jobs (one job at a time, same cancel)
 * and forwards `unload-sr` here.
 *
 * Memory: the SR models are downloaded and their sessions created on the first sharpen only, and
 * kept for the next one until `unload-sr` (or a lost device) releases them. The detail layer is
 * not kept here: each sharpen composites into a blank scratch layer and sends back only the
 * touched region (premultiplied), which the viewer composites over its own layer.
 */
import { ModelStore, filesForSessions, repairNotice, type DownloadProgress, type ModelStoreDeps } from '../model/model-store';
import type { ModelSource } from '../model/manifest';
import type { Ldm3dSrPipeline } from '../pipeline/sr/pipeline';
import { sharpenRegion } from '../pipeline/sr/sharpen';
import { createDetailLayer } from '../panorama/gnomonic';
import { extractRegion } from '../panorama/detail-layer';
import { isDeviceLost, isOutOfMemory, type LoadHooks } from './hosted-pipeline';
import type { Backend, BackendPreference, SharpenRequest, SrModelInfo, UnloadSrRequest, WorkerResponse } from './protocol';
import { stepsError } from '../pipeline/setting-ranges';

export const SR_SESSIONS = ['text_encoder', 'vae_encoder', 'unet', 'vae_decoder'] as const;
export const DEFAULT_LAYER_WIDTH = 4096;

/** What sharpen needs of a loaded Ldm3dSrPipeline (tests pass a fake). */
export interface HostedUpscaler extends Pick<Ldm3dSrPipeline, 'upscale' | 'manifest'> {
  readonly backend: Backend;
  dispose(): Promise<void>;
}

export type UpscalerLoader = (source: ModelSource, backend: BackendPreference, hooks: LoadHooks) => Promise<HostedUpscaler>;

export interface SrHostDeps {
  readonly loadUpscaler: UpscalerLoader;
  readonly store?: ModelStoreDeps;
  readonly now?: () => number;
  readonly progressIntervalMs?: number;
}

/** A request the worker cannot run, with the reason (host.ts answers it as bad-request). */
export class BadSharpenRequest extends Error {
  override readonly name = 'BadSharpenRequest';
}

export function validateSharpen(r: SharpenRequest): string | null {
  if (!Number.isInteger(r.width) || !Number.isInteger(r.height) || r.width < 2 || r.width !== 2 * r.height) {
    return `the panorama must be 2:1 whole pixels (got ${r.width} × ${r.height})`;
  }
  if (!(r.rgba instanceof Uint8ClampedArray) || r.rgba.length !== r.width * r.height * 4) return 'the panorama colour does not match its size';
  if (!(r.depth instanceof Float32Array) || r.depth.length !== r.width * r.height) return 'the panorama depth does not match its size';
  const g = r.gaze;
  if (![g?.x, g?.y, g?.z].every(Number.isFinite) || Math.hypot(g.x, g.y, g.z) < 1e-6) return 'the view direction is not a direction';
  const badSteps = stepsError(r.steps);
  if (badSteps) return badSteps;
  if (!Number.isInteger(r.seed) || r.seed < 0 || r.seed > 0xffff_ffff) return `seed must be a whole number from 0 to 4294967295 (got ${r.seed})`;
  const lw = r.layerWidth ?? DEFAULT_LAYER_WIDTH;
  if (!Number.isInteger(lw) || lw < 16 || lw > 16384 || lw % 2 !== 0) return `layer width must be an even whole number from 16 to 16384 (got ${lw})`;
  return null;
}

interface LoadedSr {
  readonly baseUrl: string;
  readonly backend: BackendPreference;
  readonly upscaler: HostedUpscaler;
}

export class SrWorkerHost {
  private loaded: LoadedSr | null = null;
  /** Notices from the last load (damaged stored files downloaded again), sent with the next result. */
  private loadNotices: string[] = [];
  private readonly now: () => number;
  private readonly progressIntervalMs: number;

  constructor(
    private readonly send: (m: WorkerResponse) => void,
    private readonly deps: SrHostDeps,
  ) {
    this.now = deps.now ?? (() => performance.now());
    this.progressIntervalMs = deps.progressIntervalMs ?? 100;
  }

  get info(): SrModelInfo | null {
    const l = this.loaded;
    return l ? { modelId: l.upscaler.manifest.model_id, testWeights: l.upscaler.manifest.test_weights, backend: l.upscaler.backend } : null;
  }

  /** Runs one sharpen; throws (AbortError, PipelineError, BadSharpenRequest…) for host.ts to answer. */
  async sharpen(req: SharpenRequest, signal: AbortSignal): Promise<void> {
    const invalid = validateSharpen(req);
    if (invalid) throw new BadSharpenRequest(invalid);
    const t0 = this.now();
    const upscaler = await this.ensureLoaded(req, signal);
    const tLoaded = this.now();
    const layerWidth = req.layerWidth ?? DEFAULT_LAYER_WIDTH;
    const layer = createDetailLayer(layerWidth, layerWidth / 2);
    const base = { width: req.width, height: req.height, rgba: req.rgba, depth: req.depth };
    let tStep = tLoaded;
    try {
      const out = await sharpenRegion(
        base,
        layer,
        upscaler,
        { gaze: req.gaze, ...(req.rightHint ? { rightHint: req.rightHint } : {}) },
        {
          steps: req.steps,
          seed: req.seed,
          signal,
          onProgress: (p) => {
            tStep = this.now();
            this.send({ type: 'sharpen-progress', id: req.id, phase: 'step', done: p.step, total: p.total, etaMs: p.etaMs === null ? null : Math.round(p.etaMs) });
            // Let a cancel message in between steps (a WASM step may never yield by itself).
            return new Promise<void>((resolve) => setTimeout(resolve, 0));
          },
        },
      );
      if (signal.aborted) throw new DOMException('sharpen cancelled', 'AbortError');
      this.send({ type: 'sharpen-progress', id: req.id, phase: 'compose', done: 1, total: 1, etaMs: null });
      const patch = extractRegion(layer, out.region);
      const info = this.info!;
      this.send({
        type: 'sharpen-result',
        id: req.id,
        layerWidth,
        layerHeight: layerWidth / 2,
        region: out.region,
        rgba: patch.rgba,
        depth: patch.depth,
        border: out.border,
        sr: info,
        timings: { loadMs: Math.round(tLoaded - t0), srMs: Math.round(tStep - tLoaded), totalMs: Math.round(this.now() - t0) },
        ...(this.loadNotices.length > 0 ? { notices: this.loadNotices } : {}),
      });
      this.loadNotices = [];
    } catch (e) {
      // Out of memory: its sessions are what fills the GPU; the next sharpen loads them again.
      if (isDeviceLost(e) || isOutOfMemory(e)) await this.release();
      throw e;
    }
  }

  async unload(req: UnloadSrRequest): Promise<void> {
    await this.release();
    this.send({ type: 'sr-unloaded', id: req.id });
  }

  async release(): Promise<void> {
    const l = this.loaded;
    this.loaded = null;
    if (l) await l.upscaler.dispose().catch(() => undefined);
  }

  private async ensureLoaded(req: SharpenRequest, signal: AbortSignal): Promise<HostedUpscaler> {
    const cur = this.loaded;
    if (cur && cur.baseUrl === req.baseUrl && cur.backend === req.backend) return cur.upscaler;
    await this.release();
    const store = await ModelStore.open(req.baseUrl, this.deps.store);
    const paths = filesForSessions(store.manifest, SR_SESSIONS);
    let last = -Infinity;
    const onProgress = (p: DownloadProgress): void => {
      const t = this.now();
      if (p.phase === 'downloading' && t - last < this.progressIntervalMs) return;
      last = t;
      this.send({ type: 'sharpen-progress', id: req.id, phase: 'download', done: p.overallLoaded, total: p.overallTotal, etaMs: null });
    };
    await store.download({ paths, signal, onProgress });
    // Reads go through the store, which checks each stored file on its first read and downloads
    // a damaged one again (with this sharpen's progress and cancel); the result names it.
    const source = { manifest: store.manifest, read: (path: string) => store.read(path, { onProgress, signal }) };
    const upscaler = await this.deps.loadUpscaler(source, req.backend, {
      signal,
      onProgress: (_stage, done, total) => this.send({ type: 'sharpen-progress', id: req.id, phase: 'sessions', done, total, etaMs: null }),
    });
    if (signal.aborted) {
      await upscaler.dispose().catch(() => undefined);
      throw new DOMException('loading the upscaler was cancelled', 'AbortError');
    }
    this.loaded = { baseUrl: req.baseUrl, backend: req.backend, upscaler };
    this.loadNotices = store.repairs.map(repairNotice);
    return upscaler;
  }
}
