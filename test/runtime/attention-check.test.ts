import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTENTION_CHECK_CASES,
  attentionInputs,
  checkedRows,
  checkFusedAttention,
  mhaModel,
  referenceAttention,
  type AttentionCase,
} from '../../src/runtime/attention-check';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { cpuTensor, OrtRuntime } from '../../src/runtime/ort';

beforeAll(() => {
  // Before any session: it also switches V8 to Liftoff-only (see src/node/webgpu.ts).
  installNodeWebGPU();
});

describe('referenceAttention', () => {
  it('computes softmax(QKᵀ·scale)V per head on a hand-computed case', () => {
    // One query, two keys, two heads of size 2 (head h owns channels 2h, 2h+1), scale 1.
    // Head 0: scores q·k = [ln 3, 0] → weights [3/4, 1/4]; values [4, 8], [8, 0] → [5, 6].
    // Head 1: scores [0, ln 2] → weights [1/3, 2/3]; values [3, 0], [0, 6] → [1, 4].
    const c: AttentionCase = { name: 'hand', batch: 1, queries: 1, keys: 2, heads: 2, headSize: 2 };
    const q = new Float32Array([1, 0, 0, 2]);
    const k = new Float32Array([Math.log(3), 0, 0, 0, 0, 5, 0, Math.log(2) / 2]);
    const v = new Float32Array([4, 8, 3, 0, 8, 0, 0, 6]);
    const out = referenceAttention(q, k, v, c, 1);
    expect(Array.from(out)).toEqual([5, 6, 1, 4].map((x) => expect.closeTo(x, 5)));
  });

  it('uses 1/sqrt(head size) by default and keeps batches apart', () => {
    // Head size 4 → scale 1/2: scores [2·1/2, 0] = [1, 0] → weights e/(e+1), 1/(e+1).
    const c: AttentionCase = { name: 'b2', batch: 2, queries: 1, keys: 2, heads: 1, headSize: 4 };
    const q = new Float32Array([1, 1, 0, 0, /* batch 1 */ 0, 0, 0, 0]);
    const k = new Float32Array([1, 1, 0, 0, 0, 0, 0, 0, /* batch 1 */ 1, 1, 1, 1, 0, 0, 0, 0]);
    const v = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, /* batch 1 */ 2, 0, 0, 0, 0, 4, 0, 0]);
    const out = referenceAttention(q, k, v, c);
    const w = Math.E / (Math.E + 1);
    expect(out[0]).toBeCloseTo(w, 6);
    expect(out[1]).toBeCloseTo(1 - w, 6);
    // Batch 1 has a zero query: uniform weights → the mean of its values.
    expect(Array.from(out.subarray(4))).toEqual([1, 2, 0, 0].map((x) => expect.closeTo(x, 6)));
  });

  it('computes only the given query rows, in order, when asked', () => {
    const c: AttentionCase = { name: 'rows', batch: 2, queries: 10, keys: 3, heads: 2, headSize: 4 };
    const x = attentionInputs(c, 3);
    const full = referenceAttention(x.q, x.k, x.v, c);
    const rows = checkedRows(c.queries);
    expect(rows).toEqual([0, 3, 6, 9]);
    expect(checkedRows(8)).toEqual([0, 3, 6, 7]);
    const part = referenceAttention(x.q, x.k, x.v, c, undefined, rows);
    const hidden = 8;
    const expected = [0, 1].flatMap((b) => rows.flatMap((i) => Array.from(full.subarray((b * 10 + i) * hidden, (b * 10 + i + 1) * hidden))));
    expect(Array.from(part)).toEqual(expected);
  });

  it('rejects inputs that do not match the case', () => {
    const c: AttentionCase = { name: 'x', batch: 1, queries: 2, keys: 2, heads: 1, headSize: 2 };
    expect(() => referenceAttention(new Float32Array(3), new Float32Array(4), new Float32Array(4), c)).toThrow(/do not match case x/);
  });
});

describe('checkFusedAttention', () => {
  const c: AttentionCase = { name: 'small', batch: 2, queries: 8, keys: 5, heads: 2, headSize: 4 };

  it('passes an exact runner and fails an off-by-a-little, a NaN and a throwing one', async () => {
    const exact = async (_m: Uint8Array, x: ReturnType<typeof attentionInputs>) => referenceAttention(x.q, x.k, x.v, c);
    const ok = await checkFusedAttention(exact, [c]);
    expect(ok).toMatchObject({ pass: true, maxError: 0, error: null });

    const off = await checkFusedAttention(async (m, x) => (await exact(m, x)).map((y, i) => (i === 7 ? y + 0.01 : y)), [c]);
    expect(off.pass).toBe(false);
    expect(off.maxError).toBeCloseTo(0.01, 6);

    const nan = await checkFusedAttention(async (m, x) => (await exact(m, x)).map((y, i) => (i === 3 ? NaN : y)), [c]);
    expect(nan.pass).toBe(false);
    expect(nan.maxError).toBeNaN();

    const thrown = await checkFusedAttention(async () => {
      throw new Error('shader compile failed');
    }, [c]);
    expect(thrown).toMatchObject({ pass: false, error: 'small: shader compile failed' });

    const short = await checkFusedAttention(async (m, x) => (await exact(m, x)).subarray(1), [c]);
    expect(short.pass).toBe(false);
    expect(short.error).toMatch(/small: the output has 127 values, expected 128/);
  });
});

describe('MultiHeadAttention graphs from the TypeScript ONNX encoder', () => {
  let rt: OrtRuntime;
  beforeAll(async () => {
    rt = await OrtRuntime.create({ backend: 'wasm' });
  });
  afterAll(() => rt.dispose());

  it('load and run on wasm and match the reference at the self-test shapes', async () => {
    const r = await rt.verifyFusedAttention();
    expect(r.cases.map((x) => x.name)).toEqual(ATTENTION_CHECK_CASES.map((x) => x.name));
    expect(r.error).toBeNull();
    expect(r.pass).toBe(true);
    expect(r.maxError).toBeLessThan(1e-5);
  });

  it('carry the scale attribute (a float) and num_heads (an int) into the graph', async () => {
    // A scale far from the default and 1 head vs 2 heads give clearly different outputs, so a
    // mis-encoded attribute would show.
    const c: AttentionCase = { name: 'attrs', batch: 2, queries: 6, keys: 7, heads: 2, headSize: 4 };
    const x = attentionInputs(c, 7);
    const s = await rt.createSession({ label: 'mha', file: 'mha', model: mhaModel(c, 0.9) });
    const out = await s.run({
      q: cpuTensor('float32', x.q, x.qDims),
      k: cpuTensor('float32', x.k, x.kvDims),
      v: cpuTensor('float32', x.v, x.kvDims),
    });
    const got = out.o!.data as Float32Array;
    await s.release();
    const maxDiff = (a: Float32Array) => a.reduce((m, y, i) => Math.max(m, Math.abs(y - got[i]!)), 0);
    expect(maxDiff(referenceAttention(x.q, x.k, x.v, c, 0.9))).toBeLessThan(1e-5);
    expect(maxDiff(referenceAttention(x.q, x.k, x.v, c))).toBeGreaterThan(1e-2);
    expect(maxDiff(referenceAttention(x.q, x.k, x.v, { ...c, heads: 1, headSize: 8 }, 0.9))).toBeGreaterThan(1e-2);
  });
});
