/**
 * Load-time self-test of the weight decoding that models/narrow_weights.py puts in front of every
 * large weight: the same small graphs run on the chosen device and must reproduce the CPU's result
 * exactly. Both decodings are exact in float32 (a float16 table lookup; int8 × float32 scale, one
 * rounding), so any difference means the GPU's kernels for these ops are wrong on this adapter, and
 * the model would produce garbage without an error — the same reason attention-check.ts exists.
 *
 * Pure TypeScript: the caller (OrtRuntime) supplies the function that runs a graph.
 */
import { encodeModel } from './onnx-proto';

export type NarrowStorage = 'float16-widened' | 'int8-per-channel';

/** Runs a graph with no inputs and one float32 output `w`; returns it. */
export type DecodeRunner = (model: Uint8Array) => Promise<Float32Array>;

export interface WeightDecodeCheck {
  readonly storage: NarrowStorage;
  readonly pass: boolean;
  /** Values that differ from the CPU's (NaN codes of float16 excluded). */
  readonly mismatches: number;
  readonly values: number;
  readonly ms: number;
  /** Why it could not run, if it did not. */
  readonly error: string | null;
}

/** float16 bit pattern → its value (exact in float32). */
export function float16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Every float16 code, decoded by narrow_weights.py's float16 chain: uint8 planes [65536, 2] →
 * DequantizeLinear(scale [256, 1], axis −1) → ReduceSum → Cast int32 → Gather from the table.
 */
export function float16DecodeCase(): { model: Uint8Array; want: Float32Array } {
  const n = 65536;
  const codes = new Uint8Array(2 * n);
  const table = new Float32Array(n);
  for (let h = 0; h < n; h++) {
    codes[2 * h] = h >> 8;
    codes[2 * h + 1] = h & 255;
    table[h] = float16Value(h);
  }
  // Shuffled so a kernel that ignored its input index would not pass by accident.
  const order = new Uint8Array(2 * n);
  const want = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const h = (i * 40503) & 0xffff; // 40503 is odd: a permutation of 0..65535
    order[2 * i] = codes[2 * h]!;
    order[2 * i + 1] = codes[2 * h + 1]!;
    want[i] = table[h]!;
  }
  const model = encodeModel({
    name: 'float16-decode-check',
    opsets: { '': 17 },
    inputs: [],
    outputs: [{ name: 'w', type: 'float32', shape: [n] }],
    initializers: [
      { name: 'codes', dims: [n, 2], data: order, type: 'uint8' },
      { name: 'scale', dims: [2], data: new Float32Array([256, 1]) },
      { name: 'zero', dims: [2], data: new Uint8Array([0, 0]), type: 'uint8' },
      { name: 'axes', dims: [1], data: new BigInt64Array([-1n]), type: 'int64' },
      { name: 'table', dims: [n], data: table },
    ],
    nodes: [
      { op: 'DequantizeLinear', inputs: ['codes', 'scale', 'zero'], outputs: ['f'], attributes: { axis: { int: -1 } } },
      { op: 'ReduceSum', inputs: ['f', 'axes'], outputs: ['s'], attributes: { keepdims: { int: 0 } } },
      { op: 'Cast', inputs: ['s'], outputs: ['i'], attributes: { to: { int: 6 } } },
      { op: 'Gather', inputs: ['table', 'i'], outputs: ['w'], attributes: { axis: { int: 0 } } },
    ],
  });
  return { model, want };
}

/**
 * A [64, 32, 3, 3] int8 weight with one scale per output channel, as a convolution filter is stored:
 * DequantizeLinear(axis 0) → q·s rounded once to float32, which Math.fround reproduces.
 */
export function int8DecodeCase(): { model: Uint8Array; want: Float32Array } {
  const [m, c, k] = [64, 32, 3];
  const per = c * k * k;
  const q = new Int8Array(m * per);
  for (let i = 0; i < q.length; i++) q[i] = ((i * 73 + 11) % 255) - 127;
  const scale = new Float32Array(m);
  for (let o = 0; o < m; o++) scale[o] = Math.fround((0.37 + o) / 1791);
  const want = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) want[i] = Math.fround(q[i]! * scale[Math.floor(i / per)]!);
  const model = encodeModel({
    name: 'int8-decode-check',
    opsets: { '': 17 },
    inputs: [],
    outputs: [{ name: 'w', type: 'float32', shape: [m, c, k, k] }],
    initializers: [
      { name: 'q', dims: [m, c, k, k], data: q, type: 'int8' },
      { name: 'scale', dims: [m], data: scale },
      { name: 'zero', dims: [m], data: new Int8Array(m), type: 'int8' },
    ],
    nodes: [{ op: 'DequantizeLinear', inputs: ['q', 'scale', 'zero'], outputs: ['w'], attributes: { axis: { int: 0 } } }],
  });
  return { model, want };
}

export async function checkWeightDecode(storage: NarrowStorage, run: DecodeRunner): Promise<WeightDecodeCheck> {
  const t0 = performance.now();
  const { model, want } = storage === 'float16-widened' ? float16DecodeCase() : int8DecodeCase();
  let got: Float32Array;
  try {
    got = await run(model);
  } catch (e) {
    return { storage, pass: false, mismatches: want.length, values: want.length, ms: performance.now() - t0, error: e instanceof Error ? e.message : String(e) };
  }
  let mismatches = 0;
  if (got.length !== want.length) mismatches = want.length;
  else {
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      // float16 NaN codes: any NaN will do (no weight is NaN: narrow_weights.py keeps those float32).
      if (Number.isNaN(w) ? !Number.isNaN(got[i]!) : got[i] !== w) mismatches++;
    }
  }
  return { storage, pass: mismatches === 0, mismatches, values: want.length, ms: performance.now() - t0, error: null };
}

export function describeWeightDecodeCheck(r: WeightDecodeCheck): string {
  const what = r.storage === 'float16-widened' ? 'float16 weight widening' : 'int8 weight dequantisation';
  if (r.error) return `${what} failed to run (${r.error})`;
  return r.pass ? `${what} exact (${r.values} values, ${r.ms.toFixed(0)} ms)` : `${what} wrong in ${r.mismatches} of ${r.values} values`;
}
