/**
 * Load-time self-test of fused attention: one-node com.microsoft.MultiHeadAttention graphs (what
 * `models/export.py --attention mha` puts in the UNet) run on the chosen device and compared with a
 * plain CPU attention. onnxruntime-web's WebGPU MultiHeadAttention has given wrong results (max error
 * 0.45–0.74 on outputs of size ~1) on an adapter whose subgroups are smaller than its kernels assume
 * (SwiftShader, subgroup size 4); a model would then produce garbage images without any error.
 *
 * Pure TypeScript: the caller (OrtRuntime) supplies the function that runs a graph, so this file
 * does not import onnxruntime.
 */
import { encodeModel } from './onnx-proto';

export interface AttentionCase {
  readonly name: string;
  readonly batch: number;
  readonly queries: number;
  readonly keys: number;
  readonly heads: number;
  readonly headSize: number;
}

/**
 * Shapes that take the same kernels as the UNet's attention: batch 2 (classifier-free guidance), a
 * self-attention over 256 tokens with the UNet's head size 40 (320 channels / 8 heads at full size),
 * and a cross-attention over the text encoder's 77 tokens. Two heads instead of 8 keep the CPU
 * reference cheap (the head count is only a loop in the kernels); head size 64 in the cross case
 * covers the other common head size.
 */
export const ATTENTION_CHECK_CASES: readonly AttentionCase[] = [
  { name: 'self-256x256-h40', batch: 2, queries: 256, keys: 256, heads: 2, headSize: 40 },
  { name: 'cross-256x77-h64', batch: 2, queries: 256, keys: 77, heads: 2, headSize: 64 },
];

/**
 * Outputs are softmax-weighted averages of values in [-2, 2): fp32 kernels agree with the float64
 * reference to ~1e-6, the broken subgroup path is off by ~0.5. 1e-3 leaves room for GPUs that
 * reorder sums or use fast exp.
 */
export const ATTENTION_TOLERANCE = 1e-3;

export interface AttentionInputs {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly qDims: readonly [number, number, number];
  readonly kvDims: readonly [number, number, number];
}

/** The scale export.py writes (diffusers' attn.scale = head_size ** -0.5). */
export function attentionScale(c: AttentionCase): number {
  return 1 / Math.sqrt(c.headSize);
}

/** One MultiHeadAttention node: q [B, S, H·D], k and v [B, L, H·D] → o [B, S, H·D]. */
export function mhaModel(c: AttentionCase, scale = attentionScale(c)): Uint8Array {
  const hidden = c.heads * c.headSize;
  return encodeModel({
    name: `mha-${c.name}`,
    opsets: { '': 17, 'com.microsoft': 1 },
    inputs: [
      { name: 'q', type: 'float32', shape: [c.batch, c.queries, hidden] },
      { name: 'k', type: 'float32', shape: [c.batch, c.keys, hidden] },
      { name: 'v', type: 'float32', shape: [c.batch, c.keys, hidden] },
    ],
    outputs: [{ name: 'o', type: 'float32', shape: [c.batch, c.queries, hidden] }],
    nodes: [
      {
        op: 'MultiHeadAttention',
        domain: 'com.microsoft',
        inputs: ['q', 'k', 'v'],
        outputs: ['o'],
        attributes: { num_heads: { int: c.heads }, scale: { float: scale } },
      },
    ],
  });
}

/** Deterministic inputs, uniform in [-2, 2) (mulberry32), so a failure is reproducible. */
export function attentionInputs(c: AttentionCase, seed = 1): AttentionInputs {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const hidden = c.heads * c.headSize;
  const fill = (n: number): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = next() * 4 - 2;
    return a;
  };
  return {
    q: fill(c.batch * c.queries * hidden),
    k: fill(c.batch * c.keys * hidden),
    v: fill(c.batch * c.keys * hidden),
    qDims: [c.batch, c.queries, hidden],
    kvDims: [c.batch, c.keys, hidden],
  };
}

/**
 * The query rows the self-test compares: every third row and the last one. The CPU reference is
 * most of the check's cost (~26 M multiply-adds for all rows); a stride of 3, odd, still meets
 * every position inside any power-of-two tile or subgroup of the kernels, and the last row covers
 * a partial last tile.
 */
export function checkedRows(queries: number): number[] {
  const rows: number[] = [];
  for (let i = 0; i < queries; i += 3) rows.push(i);
  if (rows[rows.length - 1] !== queries - 1) rows.push(queries - 1);
  return rows;
}

/**
 * softmax(Q Kᵀ · scale) V per batch and head, in float64, on [B, S, H·D] / [B, L, H·D] layouts
 * (head h owns channels h·D … h·D + D − 1), as com.microsoft.MultiHeadAttention defines it.
 * With `rows`, only those query rows: the result is [B, rows.length, H·D].
 */
export function referenceAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  c: AttentionCase,
  scale = attentionScale(c),
  rows?: readonly number[],
): Float32Array {
  const { batch, queries, keys, heads, headSize } = c;
  const hidden = heads * headSize;
  if (q.length !== batch * queries * hidden || k.length !== batch * keys * hidden || v.length !== k.length) {
    throw new Error(`referenceAttention: input sizes ${q.length}/${k.length}/${v.length} do not match case ${c.name}`);
  }
  const which = rows ?? Array.from({ length: queries }, (_, i) => i);
  const out = new Float32Array(batch * which.length * hidden);
  const scores = new Float64Array(keys);
  const acc = new Float64Array(headSize);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const kBase = b * keys * hidden + h * headSize;
      for (let r = 0; r < which.length; r++) {
        const qOff = (b * queries + which[r]!) * hidden + h * headSize;
        const oOff = (b * which.length + r) * hidden + h * headSize;
        let max = -Infinity;
        for (let j = 0; j < keys; j++) {
          const kOff = kBase + j * hidden;
          let dot = 0;
          for (let d = 0; d < headSize; d++) dot += q[qOff + d]! * k[kOff + d]!;
          const s = dot * scale;
          scores[j] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let j = 0; j < keys; j++) {
          const e = Math.exp(scores[j]! - max);
          scores[j] = e;
          sum += e;
        }
        acc.fill(0);
        for (let j = 0; j < keys; j++) {
          const p = scores[j]! / sum;
          const vOff = kBase + j * hidden;
          for (let d = 0; d < headSize; d++) acc[d]! += p * v[vOff + d]!;
        }
        for (let d = 0; d < headSize; d++) out[oOff + d] = acc[d]!;
      }
    }
  }
  return out;
}

/** The given query rows of a [B, S, hidden] tensor, as [B, rows.length, hidden]. */
function pickRows(x: Float32Array, batch: number, queries: number, hidden: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(batch * rows.length * hidden);
  for (let b = 0; b < batch; b++) {
    rows.forEach((i, r) => out.set(x.subarray((b * queries + i) * hidden, (b * queries + i + 1) * hidden), (b * rows.length + r) * hidden));
  }
  return out;
}

/** Runs a one-node MHA graph (inputs q, k, v; output o) on the device under test; returns o. */
export type AttentionRunner = (model: Uint8Array, inputs: AttentionInputs) => Promise<Float32Array>;

export interface AttentionCaseResult {
  readonly name: string;
  /** max |device − reference|; NaN when the device produced NaN. */
  readonly maxError: number;
}

export interface AttentionCheck {
  readonly pass: boolean;
  /** Largest error over all cases (NaN if any output was NaN, Infinity if a run failed). */
  readonly maxError: number;
  readonly tolerance: number;
  readonly cases: readonly AttentionCaseResult[];
  /** Wall time of the whole check, including building the graphs and the CPU reference. */
  readonly ms: number;
  /** Why it could not run at all (a session or run failed), if it did not. */
  readonly error: string | null;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    // NaN compares false with everything: without this a NaN output would pass.
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}

export async function checkFusedAttention(
  run: AttentionRunner,
  cases: readonly AttentionCase[] = ATTENTION_CHECK_CASES,
  tolerance = ATTENTION_TOLERANCE,
): Promise<AttentionCheck> {
  const t0 = performance.now();
  const results: AttentionCaseResult[] = [];
  let error: string | null = null;
  for (const c of cases) {
    const inputs = attentionInputs(c);
    let got: Float32Array;
    try {
      got = await run(mhaModel(c), inputs);
    } catch (e) {
      error = `${c.name}: ${e instanceof Error ? e.message : String(e)}`;
      results.push({ name: c.name, maxError: Infinity });
      break;
    }
    const hidden = c.heads * c.headSize;
    if (got.length !== c.batch * c.queries * hidden) {
      error = `${c.name}: the output has ${got.length} values, expected ${c.batch * c.queries * hidden}`;
      results.push({ name: c.name, maxError: Infinity });
      break;
    }
    const rows = checkedRows(c.queries);
    const want = referenceAttention(inputs.q, inputs.k, inputs.v, c, attentionScale(c), rows);
    results.push({ name: c.name, maxError: maxAbsDiff(pickRows(got, c.batch, c.queries, hidden, rows), want) });
  }
  const maxError = results.reduce((m, r) => (Number.isNaN(m) || Number.isNaN(r.maxError) ? NaN : Math.max(m, r.maxError)), 0);
  return {
    pass: error === null && results.every((r) => r.maxError <= tolerance),
    maxError,
    tolerance,
    cases: results,
    ms: performance.now() - t0,
    error,
  };
}

/** One line for logs and notices: "max error 4.2e-7 ≤ 1e-3 (self-… 4.2e-7, cross-… 3.1e-7), 45 ms". */
export function describeAttentionCheck(r: AttentionCheck): string {
  const per = r.cases.map((c) => `${c.name} ${c.maxError.toExponential(1)}`).join(', ');
  const verdict = r.error ? `failed to run (${r.error})` : `max error ${r.maxError.toExponential(1)} ${r.pass ? '≤' : '>'} ${r.tolerance.toExponential(0)}`;
  return `${verdict} (${per}), ${r.ms.toFixed(0)} ms`;
}
