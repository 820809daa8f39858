/**
 * The only module that imports onnxruntime-web. It picks the execution provider (WebGPU first, WASM
 * as a fallback with a notice for the user), owns the GPUDevice that ORT and our own kernels share,
 * creates sessions from bytes, runs them one at a time, and turns ORT's failures into PipelineErrors.
 *
 *   const rt = await OrtRuntime.create({ backend: 'auto' });   // + verifyAttention: true for fused-attention graphs
 *   if (rt.notice) showToUser(rt.notice);
 *   log(rt.summary);                                            // back end, adapter, subgroups and why
 *   const s = await rt.createSession({ label: 'unet', file: 'unet/model.onnx', model: bytes });
 *   const out = await s.run({ sample: cpuTensor('float32', data, [1, 4, 8, 16]), ... });
 *   await rt.dispose();
 *
 * Entry point: 'onnxruntime-web/webgpu' in the browser and in Node alike. Plain 'onnxruntime-web'
 * resolves to a WASM-only build under Node's "node" export condition, so WebGPU could not be tested
 * in Node; the /webgpu build (ORT's native WebGPU EP, asyncify wasm) is also the one
 * @huggingface/transformers imports, so a page that has both still loads a single ORT.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { PipelineError, reasonOf } from '../model/errors';
import { checkFusedAttention, describeAttentionCheck, type AttentionCheck } from './attention-check';
import { checkWeightDecode, describeWeightDecodeCheck, type NarrowStorage, type WeightDecodeCheck } from './weight-decode-check';
import { bufferSizeFor, formatBytes, graphNeeds, limitMessage, requestLimits, type LimitsPolicy, type LimitsRequest, type ModelNeeds, type OrtLimit } from './limits';
import { readGraph } from './onnx-read';

export type Backend = 'webgpu' | 'wasm';
export type BackendRequest = Backend | 'auto';
export type RtTensor = ort.Tensor;
export type RtTensorType = 'float32' | 'int64' | 'int32' | 'float16' | 'uint8';

type CpuData = Float32Array | BigInt64Array | Int32Array | Uint16Array | Uint8Array;

export function cpuTensor(type: RtTensorType, data: CpuData, dims: readonly number[]): RtTensor {
  // ORT's overloads want the element type to match the data type; the union is checked by ORT.
  return new ort.Tensor(type as 'float32', data as Float32Array, dims);
}

/** Wraps one of our GPU buffers as an input; the buffer stays ours (ORT never destroys it). */
export function gpuTensor(buffer: GPUBuffer, type: 'float32' | 'float16' | 'int64' | 'int32', dims: readonly number[]): RtTensor {
  return ort.Tensor.fromGpuBuffer(buffer, { dataType: type, dims });
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

let configured = false;
function configureOnce(): void {
  if (configured) return;
  configured = true;
  // Under Node the web bundle cannot start its pthread workers (its loader require()s node:os from
  // an ES module and fails), so it must run single-threaded there. Browsers keep ORT's default
  // (threads when the page is cross-origin isolated).
  if (isNode) ort.env.wasm.numThreads = 1;
  // We run ORT inside our own worker already; ORT's proxy worker would add a copy per run.
  ort.env.wasm.proxy = false;
}

const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query'];

/**
 * Smallest subgroup size for which the runtime asks for the 'subgroups' feature. ORT's WebGPU kernels
 * pick subgroup code paths whenever the device has the feature, and their flash attention was
 * written for subgroups of 16 or more (its source once said "16 is the smallest size tested").
 * SwiftShader reports subgroups of exactly 4 and gets wrong MultiHeadAttention results with them
 * (max error 0.45–0.92; 4e-7 without). 8 rather than 16: Intel GPUs report a minimum of 8 and ORT
 * ships Intel-specific subgroup MatMul kernels, which a threshold of 16 would switch off there;
 * the fused-attention self-test (verifyAttention) guards the attention kernels on such a device and
 * turns subgroups off when they fail. Reported minima: NVIDIA 32, Adreno 64, Mali 16, Intel 8.
 */
export const MIN_SUBGROUP_SIZE = 8;

/** 'auto': by MIN_SUBGROUP_SIZE; 'on' / 'off': for experiments (the adapter must have the feature for 'on'). */
export type SubgroupPolicy = 'auto' | 'on' | 'off';

export interface SubgroupState {
  /** Whether the device was created with the 'subgroups' feature (ORT then uses its subgroup kernels). */
  readonly enabled: boolean;
  /** The adapter's reported subgroup sizes; null when it does not report them. */
  readonly minSize: number | null;
  readonly maxSize: number | null;
  /** Why, for logs: "sizes 32–32 ≥ 8", "sizes 4–4 < 8: onnxruntime's subgroup kernels give wrong results …". */
  readonly reason: string;
}

function decideSubgroups(policy: SubgroupPolicy, adapter: GPUAdapter): SubgroupState {
  const info = adapter.info as GPUAdapterInfo | undefined;
  const size = (v: unknown): number | null => (typeof v === 'number' && v > 0 ? v : null);
  const minSize = size(info?.subgroupMinSize);
  const maxSize = size(info?.subgroupMaxSize);
  const sizes = minSize === null ? 'sizes not reported' : `sizes ${minSize}–${maxSize ?? '?'}`;
  const state = (enabled: boolean, reason: string): SubgroupState => ({ enabled, minSize, maxSize, reason });
  if (!adapter.features.has('subgroups')) return state(false, 'the adapter has no subgroups feature');
  if (policy === 'off') return state(false, `turned off by the subgroups: 'off' option (${sizes})`);
  if (policy === 'on') return state(true, `forced on by the subgroups: 'on' option (${sizes})`);
  if (minSize === null) return state(false, 'the adapter does not report its subgroup sizes');
  if (minSize < MIN_SUBGROUP_SIZE) {
    return state(false, `${sizes} < ${MIN_SUBGROUP_SIZE}: onnxruntime's subgroup kernels give wrong results on such small subgroups`);
  }
  return state(true, `${sizes} ≥ ${MIN_SUBGROUP_SIZE}`);
}

interface DeviceResult {
  readonly device: GPUDevice | null;
  readonly description: string;
  readonly reason: string | null;
  readonly subgroups: SubgroupState | null;
  readonly limits: LimitsRequest | null;
  /** The adapter's maxBufferSize, for messages ("this GPU allows …"). */
  readonly adapterMaxBuffer: number | null;
}

/** Thrown by createDevice when the model cannot fit the limits: not a reason to fall back to WASM silently. */
class LimitsUnmet extends Error {}

async function createDevice(policy: SubgroupPolicy, limitsPolicy: LimitsPolicy, needs: ModelNeeds | null): Promise<DeviceResult> {
  const none = { device: null, description: '', subgroups: null, limits: null, adapterMaxBuffer: null };
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return { ...none, reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ...none, reason: `requesting a WebGPU adapter failed: ${reasonOf(e)}` };
  }
  if (!adapter) return { ...none, reason: 'no WebGPU adapter is available (GPU blocklisted or WebGPU disabled)' };
  const adapterLimits = adapter.limits as unknown as Record<string, number | undefined>;
  const subgroups = decideSubgroups(policy, adapter);
  const limits = requestLimits(limitsPolicy, adapterLimits, needs, subgroups.enabled);
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  if (subgroups.enabled) requiredFeatures.push('subgroups');
  const info = adapter.info as GPUAdapterInfo | undefined;
  const description = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s).join(' ') || 'unknown adapter';
  const adapterMaxBuffer = adapterLimits.maxBufferSize ?? null;
  if (limits.unmet) throw new LimitsUnmet(`${limits.unmet} (${limits.description}; subgroups ${subgroups.enabled ? 'on' : 'off'}: ${subgroups.reason}; adapter ${description})`);
  try {
    const device = await adapter.requestDevice({ requiredLimits: limits.requiredLimits, requiredFeatures, label: 'ldm3d-xr' });
    return { device, description, reason: null, subgroups, limits, adapterMaxBuffer };
  } catch (e) {
    return { ...none, description, reason: `creating a WebGPU device failed: ${reasonOf(e)}`, subgroups, limits };
  }
}

/**
 * ORT's WebGPU EP options. 'simple' reuses freed storage buffers only at their exact size, where
 * the default 'bucket' rounds every request up to a size class and keeps one pool per class. Our
 * graphs run at fixed shapes, so exact sizes always match: measured on an H100 with the full-size
 * pano pipeline (BENCHMARKS.md, device run 6), peak GPU memory 17.4 → 15.3 GiB, warm generation
 * −3 %, UNet call CPU side −23 %, same outputs. The option is fixed when ORT creates its context
 * for a device (the first session on it); every session passes the same value.
 */
function webgpuProvider(device: GPUDevice, cache: BufferCacheMode): ort.InferenceSession.ExecutionProviderConfig {
  return { name: 'webgpu', device, storageBufferCacheMode: cache } as ort.InferenceSession.ExecutionProviderConfig;
}

/**
 * ORT's storage-buffer cache (see webgpuProvider): 'simple' keeps every freed buffer for reuse at its
 * exact size; 'lazyRelease' frees them after each batch of GPU work (less memory, a new buffer for
 * every tensor of every run).
 */
export type BufferCacheMode = 'simple' | 'lazyRelease';

export interface SessionInit {
  /** Short name for messages: 'unet'. */
  readonly label: string;
  /** Manifest-relative path of the graph, named in errors. */
  readonly file: string;
  readonly model: Uint8Array;
  /** External-data files, by the location string the graph references. */
  readonly externalData?: ReadonlyArray<{ readonly path: string; readonly data: Uint8Array }>;
  /** Keep outputs on the GPU (WebGPU only): the caller reads them with our kernels. */
  readonly gpuOutputs?: boolean;
  /** Fixed values for symbolic input dimensions ("batch": 2): ORT can then plan the graph for one shape. */
  readonly freeDimensionOverrides?: Readonly<Record<string, number>>;
}

/** One ORT inference session. Runs go through the runtime's queue: one run at a time. */
export class OrtSession {
  private released = false;

  constructor(
    private readonly runtime: OrtRuntime,
    private readonly session: ort.InferenceSession,
    readonly label: string,
    readonly file: string,
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * `fetches`: the outputs wanted (default all); an output left out is neither copied nor kept
   * (the UNet's DeepCache features when DeepCache is off).
   */
  run(feeds: Record<string, RtTensor>, fetches?: readonly string[]): Promise<Record<string, RtTensor>> {
    if (this.released) return Promise.reject(new PipelineError('disposed', `${this.label}: the session was released`));
    const wanted = fetches ? [...fetches] : undefined;
    return this.runtime.enqueue(this.label, () => (wanted ? this.session.run(feeds, wanted) : this.session.run(feeds)) as Promise<Record<string, RtTensor>>);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.runtime.untrack(this);
    await this.session.release();
  }
}

export interface RuntimeOptions {
  readonly backend?: BackendRequest;
  /** Whether the WebGPU device gets the 'subgroups' feature; default 'auto' (see MIN_SUBGROUP_SIZE). */
  readonly subgroups?: SubgroupPolicy;
  /**
   * Run the fused-attention self-test (attention-check.ts) on the WebGPU device before returning; the
   * pipeline sets it when the manifest's graphs use com.microsoft.MultiHeadAttention. If the test
   * fails with subgroups on, the device is recreated without them and tested again; if it still
   * fails, 'auto' falls back to WASM with a notice and 'webgpu' fails with 'webgpu-unavailable'.
   */
  readonly verifyAttention?: boolean;
  /** ORT's storage-buffer cache on this runtime's device; default 'simple'. */
  readonly bufferCache?: BufferCacheMode;
  /**
   * Self-test the decoding of narrowed weights (weight-decode-check.ts) on the WebGPU device; the
   * pipeline sets it from manifest.weight_storage. A failure falls back like the attention check.
   */
  readonly verifyWeights?: NarrowStorage;
  /**
   * Which device limits to request (limits.ts); default 'needed': WebGPU's defaults raised to the
   * model's largest tensor (from `needs`), 'default': exactly WebGPU's defaults (what a headset's
   * browser gives a page that asks for nothing), 'adapter': the adapter's maxima, as ORT asks.
   */
  readonly limits?: LimitsPolicy;
  /**
   * The model's tensor sizes (limits.ts modelNeeds), asked for on WebGPU with the 'needed' policy,
   * which sizes its request from them (absent: it asks for the adapter's limits); a weight or
   * (without subgroups) an attention-score tensor larger than the adapter's maxBufferSize then fails
   * create() with 'device-limits'. With every policy, createSession checks each graph's weights (and,
   * for a session with fixed dims, its attention scores) against the device before ORT sees it.
   */
  readonly needs?: () => Promise<ModelNeeds>;
}

/** One run of the fused-attention self-test, with the subgroup setting of the device it ran on. */
export interface AttentionAttempt extends AttentionCheck {
  readonly subgroups: boolean;
}

export class OrtRuntime {
  /** Set when the device was lost; every later run fails with 'device-lost'. */
  private lost: string | null = null;
  /** The last GPUOutOfMemoryError nobody caught; reported by the run that caused it. */
  private oom: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly sessions = new Set<OrtSession>();
  private disposed = false;

  private constructor(
    readonly backend: Backend,
    /** The GPUDevice ORT runs on (WebGPU only); our kernels use it too so buffers are shared. */
    readonly device: GPUDevice | null,
    /** Shown to the user as is, e.g. why WebGPU is not used; null when there is nothing to say. */
    readonly notice: string | null,
    /** The adapter, for logs and metadata. */
    readonly adapter: string,
    /** Whether the device has subgroups and why (WebGPU only). */
    readonly subgroups: SubgroupState | null,
    /** Every fused-attention self-test run while creating this runtime, in order; empty when not asked. */
    readonly attentionChecks: readonly AttentionAttempt[],
    readonly bufferCache: BufferCacheMode = 'simple',
    /** The limits the device was created with (WebGPU only). */
    readonly limits: LimitsRequest | null = null,
    /** The adapter's maxBufferSize, for messages; null when unknown. */
    private readonly adapterMaxBuffer: number | null = null,
  ) {
    if (device) {
      void device.lost.then((info) => {
        // destroy() from dispose() also resolves `lost`; that is not an error.
        if (!this.disposed) this.lost = `${info.message || 'no message'} (reason: ${info.reason ?? 'unknown'})`;
      });
      const onError = (ev: Event): void => {
        const error = (ev as GPUUncapturedErrorEvent).error;
        if (typeof GPUOutOfMemoryError !== 'undefined' && error instanceof GPUOutOfMemoryError) this.oom = error.message;
      };
      if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError);
      else device.onuncapturederror = onError;
    }
  }

  /**
   * 'auto' tries WebGPU and falls back to WASM with a notice; 'webgpu' fails with
   * 'webgpu-unavailable' instead of falling back; 'wasm' never touches the GPU.
   */
  static async create(options: RuntimeOptions = {}): Promise<OrtRuntime> {
    configureOnce();
    const request = options.backend ?? 'auto';
    if (request === 'wasm') return new OrtRuntime('wasm', null, null, 'cpu', null, []);
    const attempts: AttentionAttempt[] = [];
    let policy = options.subgroups ?? 'auto';
    const limitsPolicy = options.limits ?? 'needed';
    let needs: ModelNeeds | null = null;
    // Only 'needed' reads the graphs before creating the device (one extra read of each .onnx file);
    // with the other policies, createSession checks each graph as it arrives (checkFits).
    if (options.needs && limitsPolicy === 'needed') {
      try {
        needs = await options.needs();
      } catch (e) {
        if (e instanceof PipelineError) throw e;
        // A graph we cannot read is ORT's to report when it loads it; the limits then fall back to the adapter's.
        needs = null;
      }
    }
    let failure: string;
    /** What the GPU computed wrongly, if that is why WebGPU is not used. */
    let gpuWrong: string | null = null;
    for (;;) {
      let created: DeviceResult;
      try {
        created = await createDevice(policy, limitsPolicy, needs);
      } catch (e) {
        if (e instanceof LimitsUnmet) throw new PipelineError('device-limits', `The model does not fit this GPU's WebGPU limits: ${e.message}`);
        throw e;
      }
      if (!created.device) {
        failure = created.reason ?? 'no device';
        break;
      }
      let subgroups = created.subgroups;
      const failed = attempts[attempts.length - 1];
      if (failed && subgroups) {
        subgroups = { ...subgroups, reason: `turned off: fused attention was wrong with them, ${describeAttentionCheck(failed)}` };
      }
      // `attempts` is shared on purpose: the runtime that is returned lists every test, its own included.
      const rt = new OrtRuntime('webgpu', created.device, null, created.description, subgroups, attempts, options.bufferCache, created.limits, created.adapterMaxBuffer);
      if (options.verifyAttention) {
        const check = await rt.verifyFusedAttention();
        attempts.push({ ...check, subgroups: subgroups?.enabled ?? false });
        if (!check.pass) {
          await rt.dispose();
          if (subgroups?.enabled) {
            policy = 'off';
            continue;
          }
          failure = `fused attention (com.microsoft.MultiHeadAttention) gives wrong results on ${created.description}: ${describeAttentionCheck(check)}`;
          gpuWrong = 'fused attention';
          break;
        }
      }
      if (options.verifyWeights) {
        const check = await rt.verifyWeightDecode(options.verifyWeights);
        rt.weightCheck = check;
        if (!check.pass) {
          await rt.dispose();
          failure = `${describeWeightDecodeCheck(check)} on ${created.description}`;
          gpuWrong = 'weight decoding';
          break;
        }
      }
      return rt;
    }
    if (request === 'webgpu') throw new PipelineError('webgpu-unavailable', `WebGPU cannot be used: ${failure}`);
    const notice =
      gpuWrong === 'fused attention'
        ? `The GPU's fused attention gives wrong results (${failure}), so the model runs on the CPU with WebAssembly, which is much slower. A model exported with sliced attention would run on this GPU.`
        : gpuWrong === 'weight decoding'
          ? `The GPU decodes this model's narrowed weights wrongly (${failure}), so the model runs on the CPU with WebAssembly, which is much slower. The float32 export would run on this GPU.`
          : `WebGPU is not available (${failure}), so the model runs on the CPU with WebAssembly, which is much slower.`;
    return new OrtRuntime('wasm', null, notice, 'cpu', null, attempts);
  }

  /** The weight-decoding self-test this runtime passed (WebGPU, narrowed weights), else null. */
  weightCheck: WeightDecodeCheck | null = null;

  /** Runs the weight-decoding self-test (weight-decode-check.ts); sessions are released before it returns. */
  verifyWeightDecode(storage: NarrowStorage): Promise<WeightDecodeCheck> {
    return checkWeightDecode(storage, async (model) => {
      const s = await this.createSession({ label: 'weight decoding self-test', file: 'weight decoding self-test (built in)', model });
      try {
        const w = (await s.run({})).w;
        if (!w) throw new Error('the graph returned no output w');
        return (await w.getData()) as Float32Array;
      } finally {
        await s.release();
      }
    });
  }

  /**
   * Runs the fused-attention self-test on this runtime's back end (see attention-check.ts); create()
   * calls it when asked to verify attention. Sessions it creates are released before it returns.
   */
  verifyFusedAttention(): Promise<AttentionCheck> {
    return checkFusedAttention(async (model, inputs) => {
      const s = await this.createSession({ label: 'attention self-test', file: 'attention self-test (built in)', model });
      try {
        const out = await s.run({
          q: cpuTensor('float32', inputs.q, inputs.qDims),
          k: cpuTensor('float32', inputs.k, inputs.kvDims),
          v: cpuTensor('float32', inputs.v, inputs.kvDims),
        });
        const o = out.o;
        if (!o) throw new Error('the graph returned no output o');
        return (await o.getData()) as Float32Array;
      } finally {
        await s.release();
      }
    });
  }

  /** One line for logs and the "loaded" text: back end, adapter, subgroups and the attention check. */
  get summary(): string {
    if (this.backend === 'wasm') {
      const last = this.attentionChecks[this.attentionChecks.length - 1];
      return last ? `WASM (CPU); fused attention failed on the GPU: ${describeAttentionCheck(last)}` : 'WASM (CPU)';
    }
    const parts = [`WebGPU on ${this.adapter}`];
    if (this.subgroups) parts.push(`subgroups ${this.subgroups.enabled ? 'on' : 'off'} (${this.subgroups.reason})`);
    if (this.limits) parts.push(this.limits.description);
    const last = this.attentionChecks[this.attentionChecks.length - 1];
    if (last) parts.push(`fused attention verified: ${describeAttentionCheck(last)}`);
    if (this.weightCheck) parts.push(describeWeightDecodeCheck(this.weightCheck));
    return parts.join('; ');
  }

  get isLost(): boolean {
    return this.lost !== null;
  }

  /**
   * For an error thrown by WebGPU work: was the device lost? `device.lost` settles a moment after
   * the operations that fail because of it, so this waits up to `ms` for it.
   */
  async lostWithin(ms: number): Promise<boolean> {
    if (this.lost !== null || !this.device) return this.lost !== null;
    await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, ms))]);
    // Let the `lost` handler registered in the constructor run first.
    await Promise.resolve();
    return this.lost !== null;
  }

  /** Throws the error a run would throw now (lost device, disposed runtime). */
  check(what: string): void {
    if (this.disposed) throw new PipelineError('disposed', `${what}: the runtime was disposed`);
    if (this.lost) throw new PipelineError('device-lost', `${what}: the GPU device was lost: ${this.lost}. Load the model again to continue.`);
  }

  async createSession(init: SessionInit): Promise<OrtSession> {
    this.check(`creating ${init.label}`);
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: this.device ? [webgpuProvider(this.device, this.bufferCache)] : ['wasm'],
      graphOptimizationLevel: 'all',
      // ORT's warnings (e.g. nodes placed on the CPU) would go to the console on every load.
      logSeverityLevel: 3,
    };
    if (init.externalData?.length) options.externalData = init.externalData.map((d) => ({ path: d.path, data: d.data }));
    if (init.gpuOutputs && this.device) options.preferredOutputLocation = 'gpu-buffer';
    if (init.freeDimensionOverrides) options.freeDimensionOverrides = { ...init.freeDimensionOverrides };
    this.checkFits(init);
    const session = await this.enqueue(init.label, async () => {
      try {
        return await ort.InferenceSession.create(init.model, options);
      } catch (e) {
        const reason = reasonOf(e);
        // A weight past a device limit: translate() names the limit and what to do.
        if (exceededLimit(reason)) throw e;
        if (isOutOfMemory(reason)) {
          throw new PipelineError('out-of-memory', `${init.file}: out of memory while loading the ${init.label} graph (${reason})`, { file: init.file, cause: e });
        }
        throw new PipelineError('model-file', `${init.file}: onnxruntime cannot load this ${init.label} graph: ${reason}`, { file: init.file, cause: e });
      }
    });
    const wrapped = new OrtSession(this, session, init.label, init.file);
    this.sessions.add(wrapped);
    return wrapped;
  }

  /**
   * Before ORT sees a graph: a weight, or (without subgroups, at the shape the session is fixed to)
   * an attention-score tensor, larger than the device's maxBufferSize fails here with
   * 'device-limits', naming the tensor, rather than inside ORT. A graph we cannot read is left to ORT.
   */
  private checkFits(init: SessionInit): void {
    if (!this.device) return;
    const max = this.device.limits.maxBufferSize;
    let needs;
    try {
      needs = graphNeeds(init.file, readGraph(init.model), init.freeDimensionOverrides ?? {});
    } catch {
      return;
    }
    const noFlash = !(this.subgroups?.enabled ?? false);
    for (const [n, attention] of [[needs.certain, false], [noFlash ? needs.attentionScores : null, true]] as const) {
      if (n && bufferSizeFor(n.bytes) > max) {
        const message = limitMessage(n.what, bufferSizeFor(n.bytes), 'maxBufferSize', max, this.adapterMaxBuffer, attention ? 'attention' : 'weight');
        throw new PipelineError('device-limits', `${message} (${this.limits?.description ?? 'limits unknown'})`, { file: init.file });
      }
    }
  }

  /** A released session leaves the runtime's list (a staged pipeline creates sessions per generation). */
  untrack(session: OrtSession): void {
    this.sessions.delete(session);
  }

  /** Runs `job` after every earlier job: ORT sessions must not run concurrently on one wasm instance. */
  enqueue<T>(label: string, job: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.check(label);
      this.oom = null;
      let result: T;
      try {
        result = await job();
      } catch (e) {
        throw this.translate(label, e);
      }
      if (this.lost) this.check(label);
      if (this.oom) throw new PipelineError('out-of-memory', `${label}: the GPU ran out of memory (${this.oom})`);
      return result;
    };
    const next = this.queue.then(run, run);
    // The queue only orders jobs; a failed job must not fail the ones after it.
    this.queue = next.catch(() => undefined);
    return next;
  }

  private translate(label: string, e: unknown): PipelineError {
    if (e instanceof PipelineError) return e;
    const reason = reasonOf(e);
    if (this.lost) return new PipelineError('device-lost', `${label}: the GPU device was lost: ${this.lost}. Load the model again to continue.`, { cause: e });
    const exceeded = exceededLimit(reason);
    if (exceeded) {
      const granted = exceeded.granted ?? this.limits?.limits[exceeded.limit as OrtLimit] ?? null;
      const adapterMax = exceeded.limit === 'maxBufferSize' ? this.adapterMaxBuffer : null;
      const what = `${label}: onnxruntime`;
      const message =
        exceeded.needed !== null && granted !== null
          ? limitMessage(what, exceeded.needed, exceeded.limit, granted, adapterMax, 'activation')
          : `${what} needs more than this device's WebGPU ${exceeded.limit}${granted !== null ? ` (${formatBytes(granted)})` : ''}. A GPU and browser with higher limits, or a smaller export (the int8 export; sliced attention), would run it.`;
      return new PipelineError('device-limits', `${message} (${this.limits?.description ?? 'limits unknown'}; WebGPU said: ${firstLine(reason)})`, { cause: e });
    }
    if (this.oom || isOutOfMemory(reason)) {
      return new PipelineError('out-of-memory', `${label}: out of memory (${this.oom ?? reason})`, { cause: e });
    }
    return new PipelineError('runtime', `${label}: onnxruntime failed: ${reason}`, { cause: e });
  }

  /** Releases every session and the device. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    // Let a run in flight finish before its session goes away.
    await this.queue;
    this.disposed = true;
    const all = [...this.sessions];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.release()));
    this.device?.destroy();
  }
}

/** What WebGPU (Dawn: Chrome, Node; wgpu: Firefox) says when a buffer, binding or pipeline exceeds a device limit. */
const LIMIT_ERRORS: ReadonlyArray<{ readonly limit: string; readonly re: RegExp }> = [
  // Dawn: "Buffer size (335544320) exceeds the max buffer size limit (268435456)."
  { limit: 'maxBufferSize', re: /Buffer size \((\d+)\) exceeds the max buffer size limit \((\d+)\)/i },
  { limit: 'maxBufferSize', re: /max(?:imum)?[ _]?buffer[ _]?size/i },
  // Dawn: "Binding size (…) is larger than the maximum storage buffer binding size (…)."
  { limit: 'maxStorageBufferBindingSize', re: /Binding size \((\d+)\).*?storage buffer binding size \((\d+)\)/i },
  { limit: 'maxStorageBufferBindingSize', re: /max(?:imum)?[ _]?storage[ _]?buffer[ _]?binding[ _]?size/i },
  // Dawn: "The total use of workgroup storage (X bytes) is larger than the maximum allowed (Y bytes)."
  { limit: 'maxComputeWorkgroupStorageSize', re: /workgroup storage \((\d+) bytes\) is larger than the maximum allowed \((\d+) bytes\)/i },
  { limit: 'maxComputeWorkgroupStorageSize', re: /workgroup[ _]?storage[ _]?size/i },
  { limit: 'maxStorageBuffersPerShaderStage', re: /storage buffers.*(?:per[- _]?(?:shader[- _]?)?stage|exceeds the limit)/i },
  { limit: 'maxComputeInvocationsPerWorkgroup', re: /invocations per workgroup|maxComputeInvocationsPerWorkgroup/i },
];

/** The limit an error message says was exceeded, with the sizes when it gives them. */
export function exceededLimit(reason: string): { limit: string; needed: number | null; granted: number | null } | null {
  for (const { limit, re } of LIMIT_ERRORS) {
    const m = re.exec(reason);
    if (m) return { limit, needed: m[1] ? Number(m[1]) : null, granted: m[2] ? Number(m[2]) : null };
  }
  return null;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function isOutOfMemory(reason: string): boolean {
  return /out of memory|OutOfMemory|\bOOM\b|could not allocate|allocation failed|Cannot enlarge memory/i.test(reason);
}
