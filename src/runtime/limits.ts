/**
 * Which WebGPU device limits the runtime asks for, and how large a model's tensors are.
 *
 * Design notes: docs/design-notes.md ("WebGPU limits").
 */
import { elemBytes, readGraph, type GraphInfo, type GraphTensor } from './onnx-read';

export type LimitsPolicy = 'needed' | 'default' | 'adapter';

export const LIMITS_POLICIES: readonly LimitsPolicy[] = ['needed', 'default', 'adapter'];

/** The limits ORT asks the adapter's maxima of (plus maxBindingsPerBindGroup, which ORT checks). */
export const ORT_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
] as const;
export type OrtLimit = (typeof ORT_LIMITS)[number];

/** ORT_LIMITS but the two size limits: what shapes kernels rather than tensors. */
const KERNEL_LIMITS = ORT_LIMITS.filter((k) => k !== 'maxBufferSize' && k !== 'maxStorageBufferBindingSize');

/** WebGPU's default limits (the spec's "Limits" table) for the limits ORT uses. */
export const WEBGPU_DEFAULT_LIMITS: Readonly<Record<OrtLimit, number>> = {
  maxBufferSize: 268_435_456, // 256 MiB
  maxStorageBufferBindingSize: 134_217_728, // 128 MiB
  maxComputeWorkgroupStorageSize: 16_384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65_535,
  maxStorageBuffersPerShaderStage: 8,
  maxBindGroups: 4,
  maxBindingsPerBindGroup: 1000,
};

/** One tensor and where it is, for messages: "unet/model.onnx: attention scores of … [1, 8, 8192, 8192] float32". */
export interface TensorNeed {
  readonly bytes: number;
  readonly what: string;
}

export interface ModelNeeds {
  /**
   * Tensors that exist whatever ORT does, at the smallest run the pipeline makes (batch 1, the
   * manifest's image size): weights, graph inputs and outputs. A device whose maxBufferSize is below
   * this cannot run the model.
   */
  readonly certain: TensorNeed | null;
  /**
   * The attention scores ORT's MultiHeadAttention allocates without flash attention, at batch 1:
   * certain when the device has no subgroups.
   */
  readonly attentionScores: TensorNeed | null;
  /**
   * The largest tensor at the largest run (batch 2: batched guidance): declared intermediates and
   * attention scores included. What 'needed' asks for (capped at the adapter's limits).
   */
  readonly largest: TensorNeed | null;
  /** Values whose shape the graphs do not declare (their size is not known before ORT runs). */
  readonly undeclared: number;
}

const MIB = 2 ** 20;

/** "128 MiB", "2 GiB", "112.5 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${+(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= MIB) return `${+(bytes / MIB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** ORT's buffer manager rounds every buffer up to a multiple of 16 bytes (NormalizeBufferSize). */
export function bufferSizeFor(tensorBytes: number): number {
  return Math.ceil(tensorBytes / 16) * 16;
}

/**
 * Evaluates an exporter's symbolic dim ("batch", "2*latent_height", "(((latent_height - 1)//2)) + 1")
 * with integer arithmetic (+ - * // %, parentheses, Python's floor division). null: a symbol that is
 * not bound, or anything else.
 */
export function evalDim(expr: string, bindings: Readonly<Record<string, number>>): number | null {
  const tokens = expr.match(/\s*(\d+|[A-Za-z_][A-Za-z0-9_]*|\/\/|[-+*%()])\s*/gy);
  if (!tokens || tokens.join('').length !== expr.length) return null;
  const toks = tokens.map((t) => t.trim());
  let i = 0;
  const floorDiv = (a: number, b: number): number => Math.floor(a / b);
  const mod = (a: number, b: number): number => a - b * Math.floor(a / b);
  function primary(): number | null {
    const t = toks[i++];
    if (t === undefined) return null;
    if (t === '(') {
      const v = sum();
      return toks[i++] === ')' ? v : null;
    }
    if (t === '-') {
      const v = primary();
      return v === null ? null : -v;
    }
    if (/^\d+$/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) return bindings[t] ?? null;
    return null;
  }
  function product(): number | null {
    let v = primary();
    while (v !== null && (toks[i] === '*' || toks[i] === '//' || toks[i] === '%')) {
      const op = toks[i++];
      const r = primary();
      if (r === null || (op !== '*' && r === 0)) return null;
      v = op === '*' ? v * r : op === '//' ? floorDiv(v, r) : mod(v, r);
    }
    return v;
  }
  function sum(): number | null {
    let v = product();
    while (v !== null && (toks[i] === '+' || toks[i] === '-')) {
      const op = toks[i++];
      const r = product();
      if (r === null) return null;
      v = op === '+' ? v + r : v - r;
    }
    return v;
  }
  const v = sum();
  return i === toks.length ? v : null;
}

/** Concrete dims of a value at these bindings, or null when one is unknown. */
export function concreteDims(t: GraphTensor, bindings: Readonly<Record<string, number>>): number[] | null {
  const out: number[] = [];
  for (const d of t.dims) {
    const v = typeof d === 'number' ? d : d === null ? null : evalDim(d, bindings);
    if (v === null || v < 0) return null;
    out.push(v);
  }
  return out;
}

const TYPE_NAMES: Readonly<Record<number, string>> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 10: 'float16' };

function need(bytes: number, what: string): TensorNeed {
  return { bytes, what };
}

function larger(a: TensorNeed | null, b: TensorNeed | null): TensorNeed | null {
  if (!a) return b;
  if (!b) return a;
  return b.bytes > a.bytes ? b : a;
}

function tensorNeed(file: string, kind: string, t: GraphTensor, dims: readonly number[]): TensorNeed | null {
  const size = elemBytes(t.elemType);
  if (size === null) return null;
  const bytes = dims.reduce((a, b) => a * b, size);
  return need(bytes, `${file}: ${kind} ${t.name} [${dims.join(', ')}] ${TYPE_NAMES[t.elemType] ?? `type ${t.elemType}`}`);
}

/** What one graph needs at one set of symbolic-dim bindings. */
export interface GraphNeeds {
  /** Weights and graph inputs/outputs. */
  readonly certain: TensorNeed | null;
  /** MultiHeadAttention scores without flash attention. */
  readonly attentionScores: TensorNeed | null;
  /** Declared intermediate values (value_info). */
  readonly intermediates: TensorNeed | null;
  readonly undeclared: number;
}

/**
 * Sizes of one graph's tensors. `bindings` gives the symbolic dims (batch, latent_height, ...);
 * a value whose dims cannot be evaluated counts as undeclared.
 */
export function graphNeeds(file: string, g: GraphInfo, bindings: Readonly<Record<string, number>>): GraphNeeds {
  let certain: TensorNeed | null = null;
  for (const t of g.initializers) certain = larger(certain, tensorNeed(file, 'weight', t, t.dims as number[]));
  let undeclared = 0;
  const shapes = new Map<string, { t: GraphTensor; dims: number[] }>();
  for (const [kind, list] of [['input', g.inputs], ['output', g.outputs]] as const) {
    for (const t of list) {
      const dims = concreteDims(t, bindings);
      if (!dims) {
        undeclared++;
        continue;
      }
      shapes.set(t.name, { t, dims });
      certain = larger(certain, tensorNeed(file, kind, t, dims));
    }
  }
  let intermediates: TensorNeed | null = null;
  for (const t of g.valueInfo) {
    const dims = concreteDims(t, bindings);
    if (!dims) {
      undeclared++;
      continue;
    }
    shapes.set(t.name, { t, dims });
    intermediates = larger(intermediates, tensorNeed(file, 'value', t, dims));
  }
  const declared = new Set([...g.initializers.map((t) => t.name), ...g.inputs.map((t) => t.name), ...g.valueInfo.map((t) => t.name)]);
  let attentionScores: TensorNeed | null = null;
  for (const n of g.nodes) {
    // Outputs of nodes that neither value_info nor the graph outputs describe: sizes unknown here.
    for (const o of n.outputs) if (o && !declared.has(o) && !shapes.has(o)) undeclared++;
    if (n.op !== 'MultiHeadAttention' || n.domain !== 'com.microsoft') continue;
    // query [B, S, heads·d] and key [B, T, heads·d] (our exports' layout, sliced_attention.py):
    // ORT's non-flash path allocates probs [B, heads, S, T] in the query's type (attention.cc).
    const q = shapes.get(n.inputs[0] ?? '');
    const k = shapes.get(n.inputs[1] ?? '');
    const heads = n.ints.num_heads;
    const size = q ? elemBytes(q.t.elemType) : null;
    if (!q || !k || !heads || size === null || q.dims.length !== 3 || k.dims.length !== 3) continue;
    const [b, s] = q.dims as [number, number, number];
    const t = (k.dims as [number, number, number])[1];
    const dims = [b, heads, s, t];
    const scores = need(dims.reduce((x, y) => x * y, size), `${file}: attention scores of MultiHeadAttention ${n.outputs[0] ?? ''} [${dims.join(', ')}] ${TYPE_NAMES[q.t.elemType] ?? ''}`.trimEnd());
    attentionScores = larger(attentionScores, scores);
  }
  return { certain, attentionScores, intermediates, undeclared };
}

/** The symbolic dims of our exports at one batch and the manifest's default image size. */
export function pipelineBindings(m: { image: { height: number; width: number }; vae_scale_factor: number }, batch: number): Record<string, number> {
  return {
    batch,
    latent_height: Math.round(m.image.height / m.vae_scale_factor),
    latent_width: Math.round(m.image.width / m.vae_scale_factor),
  };
}

/** The graphs' needs combined: batch 1 for what is certain, batch 2 for what 'needed' asks. */
export function combineNeeds(perGraph: ReadonlyArray<{ readonly batch1: GraphNeeds; readonly batch2: GraphNeeds }>): ModelNeeds {
  let certain: TensorNeed | null = null;
  let attentionScores: TensorNeed | null = null;
  let largest: TensorNeed | null = null;
  let undeclared = 0;
  for (const { batch1, batch2 } of perGraph) {
    certain = larger(certain, batch1.certain);
    attentionScores = larger(attentionScores, batch1.attentionScores);
    largest = larger(largest, larger(larger(batch2.certain, batch2.intermediates), batch2.attentionScores));
    undeclared += batch2.undeclared;
  }
  return { certain, attentionScores, largest: larger(largest, larger(certain, attentionScores)), undeclared };
}

/** A manifest and its files, structurally (the pipeline's ModelSource fits). */
export interface GraphSource {
  readonly manifest: {
    readonly image: { readonly height: number; readonly width: number };
    readonly vae_scale_factor: number;
    readonly sessions: Readonly<Partial<Record<string, { readonly file: string }>>>;
  };
  read(path: string): Promise<Uint8Array>;
}

/**
 * Reads the graphs of `sessions` (default: every session but the VAE encoder, which text-to-image
 * does not run) and sizes their tensors at the manifest's image size. Costs one extra read of each
 * .onnx file (not of external data): small for graphs with external weights, the whole file for
 * graphs with inline weights (the text encoder and VAE of the full-size export: ~0.5 GiB of reads,
 * released at once).
 */
export async function modelNeeds(source: GraphSource, sessions?: readonly string[]): Promise<ModelNeeds> {
  const m = source.manifest;
  const names = sessions ?? Object.keys(m.sessions).filter((s) => s !== 'vae_encoder');
  const perGraph: Array<{ batch1: GraphNeeds; batch2: GraphNeeds }> = [];
  for (const name of names) {
    const file = m.sessions[name]?.file;
    if (!file) continue;
    const g = readGraph(await source.read(file));
    perGraph.push({ batch1: graphNeeds(file, g, pipelineBindings(m, 1)), batch2: graphNeeds(file, g, pipelineBindings(m, 2)) });
  }
  return combineNeeds(perGraph);
}

export interface LimitsRequest {
  /** What requestDevice gets as requiredLimits ({} for 'default': the device gets WebGPU's defaults). */
  readonly requiredLimits: Readonly<Record<string, number>>;
  /** The limits the device will have for ORT_LIMITS (requested, else WebGPU's defaults). */
  readonly limits: Readonly<Record<OrtLimit, number>>;
  /** Limits raised above WebGPU's defaults, for the model line. */
  readonly raised: readonly OrtLimit[];
  /** One line: "limits: default (128 MiB binding, 256 MiB buffer)". */
  readonly description: string;
  /** Set when a tensor the model certainly holds cannot fit these limits: the message for the user. */
  readonly unmet: string | null;
}

/**
 * The limits to request from an adapter. `adapterLimits`: GPUAdapter.limits; `needs`: the model's
 * (null: not known); `subgroups`: whether the device gets the 'subgroups' feature (without it the
 * attention scores are certain).
 */
export function requestLimits(
  policy: LimitsPolicy,
  adapterLimits: Readonly<Record<string, number | undefined>>,
  needs: ModelNeeds | null,
  subgroups: boolean,
): LimitsRequest {
  const adapter = (k: OrtLimit): number => adapterLimits[k] ?? WEBGPU_DEFAULT_LIMITS[k];
  const limits: Record<OrtLimit, number> = { ...WEBGPU_DEFAULT_LIMITS };
  const required: Record<string, number> = {};
  let label: string = policy;
  if (policy === 'adapter' || (policy === 'needed' && !needs)) {
    for (const k of ORT_LIMITS) {
      // Never below the default: an adapter reports at least the defaults, a fake one might not.
      limits[k] = Math.max(WEBGPU_DEFAULT_LIMITS[k], adapter(k));
      required[k] = limits[k];
    }
    if (policy === 'needed') label = "needed (the model's needs unknown: the adapter's)";
  } else if (policy === 'needed' && needs) {
    if (subgroups) {
      for (const k of KERNEL_LIMITS) {
        if (adapter(k) > WEBGPU_DEFAULT_LIMITS[k]) required[k] = limits[k] = adapter(k);
      }
    }
    const want = bufferSizeFor(needs.largest?.bytes ?? 0);
    const buffer = Math.min(adapter('maxBufferSize'), Math.max(WEBGPU_DEFAULT_LIMITS.maxBufferSize, want));
    // A binding as large as the largest tensor, so ORT binds it whole (as with the adapter's limits).
    const binding = Math.min(adapter('maxStorageBufferBindingSize'), buffer, Math.max(WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize, want));
    if (buffer > WEBGPU_DEFAULT_LIMITS.maxBufferSize) required.maxBufferSize = limits.maxBufferSize = buffer;
    if (binding > WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize) required.maxStorageBufferBindingSize = limits.maxStorageBufferBindingSize = binding;
  }
  const raised = ORT_LIMITS.filter((k) => limits[k] > WEBGPU_DEFAULT_LIMITS[k]);
  const sizes = `${formatBytes(limits.maxStorageBufferBindingSize)} binding, ${formatBytes(limits.maxBufferSize)} buffer`;
  const kernels = KERNEL_LIMITS.some((k) => raised.includes(k)) ? "; kernel limits: the adapter's, for subgroup kernels" : '';
  const description =
    policy === 'adapter' || raised.length === 0 || policy === 'default'
      ? `limits: ${label} (${sizes})`
      : `limits: ${label} (${raised.includes('maxBufferSize') || raised.includes('maxStorageBufferBindingSize') ? 'raised: ' : ''}${sizes}${kernels})`;
  return { requiredLimits: required, limits, raised, description, unmet: unmetNeed(limits, adapter, needs, subgroups) };
}

/** The message when a tensor the model certainly holds is larger than the device's maxBufferSize. */
function unmetNeed(limits: Readonly<Record<OrtLimit, number>>, adapter: (k: OrtLimit) => number, needs: ModelNeeds | null, subgroups: boolean): string | null {
  if (!needs) return null;
  const max = limits.maxBufferSize;
  const tooBig = [needs.certain, subgroups ? null : needs.attentionScores].filter((n): n is TensorNeed => n !== null && bufferSizeFor(n.bytes) > max);
  const worst = tooBig.reduce<TensorNeed | null>((a, b) => larger(a, b), null);
  if (!worst) return null;
  return limitMessage(worst.what, bufferSizeFor(worst.bytes), 'maxBufferSize', max, adapter('maxBufferSize'), worst === needs.attentionScores ? 'attention' : 'weight');
}

/** What a tensor that does not fit is: the remedies differ. */
export type TensorKind = 'weight' | 'attention' | 'activation';

/**
 * The user's message for a tensor that does not fit a limit: what, how big, the limit, and what to do.
 * `adapterMax`: what the GPU could give (null: unknown).
 */
export function limitMessage(what: string, bytes: number, limit: string, granted: number, adapterMax: number | null, kind: TensorKind): string {
  const remedies: string[] = [];
  if (kind === 'attention') {
    remedies.push('a model exported with sliced attention (models/export.py --attention sliced) keeps every score tensor under 256 MiB');
    remedies.push("a GPU and browser with the WebGPU 'subgroups' feature let onnxruntime use flash attention, which needs no score tensor");
  } else if (kind === 'weight') {
    remedies.push('the int8 export (models/narrow_weights.py --storage int8, which also splits the largest weights) needs smaller buffers');
  } else {
    remedies.push('an export with sliced attention (models/export.py --attention sliced), guidance as two batch-1 UNet calls, a tiled VAE decode or a smaller image keep intermediate tensors smaller');
  }
  if (adapterMax !== null && adapterMax >= bytes && adapterMax > granted) {
    remedies.push(`this GPU allows ${formatBytes(adapterMax)}: load with limits 'needed' or 'adapter' instead of WebGPU's defaults`);
  } else remedies.push(`a GPU and browser whose WebGPU ${limit} is at least ${formatBytes(bytes)} would run it`);
  return `${what} needs a ${formatBytes(bytes)} GPU buffer, but this device's ${limit} is ${formatBytes(granted)}. ${capitalise(remedies.join('; '))}.`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
