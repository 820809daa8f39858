/**
 * A model that does not fit WebGPU's default limits, on a real device (Dawn; SwiftShader without a
 * GPU, whose adapter allows 1 GiB buffers): onnxruntime's own failure is turned into a
 * 'device-limits' PipelineError that names the limit, the size needed and what to do; a tensor we
 * can size before ORT runs fails before ORT sees it; and the runtime keeps working afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError, PipelineError } from '../../src/model/errors';
import { WEBGPU_DEFAULT_LIMITS } from '../../src/runtime/limits';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { OrtRuntime } from '../../src/runtime/ort';
import { encodeModel } from '../../src/runtime/onnx-proto';
import { expandGraph, ones } from './expand-graph';

async function rejection(p: Promise<unknown>): Promise<PipelineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PipelineError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

beforeAll(() => {
  installNodeWebGPU();
});

describe("limits 'default' on WebGPU", () => {
  let rt: OrtRuntime;
  beforeAll(async () => {
    rt = await OrtRuntime.create({ backend: 'webgpu', limits: 'default', subgroups: 'off' });
  });
  afterAll(() => rt?.dispose());

  it("creates a device with exactly WebGPU's default limits and says so on the model line", () => {
    const limits = (rt.device as GPUDevice).limits;
    for (const [k, v] of Object.entries(WEBGPU_DEFAULT_LIMITS)) expect(limits[k as keyof GPUSupportedLimits], k).toBe(v);
    expect(rt.summary).toMatch(/; subgroups off \(turned off by the subgroups: 'off' option.*\); limits: default \(128 MiB binding, 256 MiB buffer\)/);
  });

  it("an intermediate past maxBufferSize: ORT's WebGPU validation error becomes 'device-limits' with the sizes and the remedy", async () => {
    // 81920 × 1024 float32 = 320 MiB > 256 MiB; the adapter (SwiftShader: 1 GiB) would allow it.
    const s = await rt.createSession({ label: 'expand', file: 'expand.onnx', model: expandGraph(81920) });
    const err = await rejection(s.run({ x: ones() }));
    expect(err.code).toBe('device-limits');
    expect(err.message).toMatch(/^expand: onnxruntime needs a 320 MiB GPU buffer, but this device's maxBufferSize is 256 MiB\. An export with sliced attention/);
    const adapterMax = (await navigator.gpu.requestAdapter())!.limits.maxBufferSize;
    if (adapterMax >= 320 * 2 ** 20) expect(err.message).toMatch(/this GPU allows .*: load with limits 'needed' or 'adapter'/);
    expect(err.message).toMatch(/limits: default \(128 MiB binding, 256 MiB buffer\); WebGPU said: .*Buffer size \(335544320\) exceeds the max buffer size limit \(268435456\)/);
    // The same device and ORT keep working for what fits (16384 × 4 KiB = 64 MiB).
    const fits = await rt.createSession({ label: 'expand', file: 'expand.onnx', model: expandGraph(16384) });
    const out = await fits.run({ x: ones() });
    expect(((await out.y.getData()) as Float32Array)[0]).toBe(16384);
    await s.release();
    await fits.release();
  });

  it('attention scores past maxBufferSize without subgroups fail when the session is created, before ORT runs', async () => {
    // 4 heads over 4096 tokens at batch 2: scores [2, 4, 4096, 4096] float32 = 512 MiB.
    const shape = ['batch', 'seq', 64];
    const model = encodeModel({
      opsets: { '': 17, 'com.microsoft': 1 },
      inputs: ['q', 'k', 'v'].map((name) => ({ name, type: 'float32' as const, shape })),
      outputs: [{ name: 'o', type: 'float32', shape }],
      nodes: [{ op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'k', 'v'], outputs: ['o'], attributes: { num_heads: { int: 4 } } }],
    });
    const err = await rejection(rt.createSession({ label: 'unet', file: 'unet/model.onnx', model, freeDimensionOverrides: { batch: 2, seq: 4096 } }));
    expect(err.code).toBe('device-limits');
    expect(err.file).toBe('unet/model.onnx');
    expect(err.message).toMatch(/^unet\/model\.onnx: attention scores of MultiHeadAttention o \[2, 4, 4096, 4096\] float32 needs a 512 MiB GPU buffer, but this device's maxBufferSize is 256 MiB\. A model exported with sliced attention/);
    // At a size that fits, the same graph loads.
    const ok = await rt.createSession({ label: 'unet', file: 'unet/model.onnx', model, freeDimensionOverrides: { batch: 1, seq: 1024 } });
    await ok.release();
  });
});

it("a model whose weights exceed the adapter's maxBufferSize fails create() with 'device-limits', not later inside ORT", async () => {
  const adapterMax = (await navigator.gpu.requestAdapter())!.limits.maxBufferSize;
  const needs = { certain: { bytes: adapterMax + 16, what: 'unet/model.onnx: weight w [huge] float32' }, attentionScores: null, largest: null, undeclared: 0 };
  const err = await rejection(OrtRuntime.create({ backend: 'webgpu', limits: 'needed', needs: () => Promise.resolve(needs) }));
  expect(isPipelineError(err, 'device-limits')).toBe(true);
  expect(err.message).toMatch(/^The model does not fit this GPU's WebGPU limits: unet\/model\.onnx: weight w \[huge\] float32 needs a .* GPU buffer, but this device's maxBufferSize is .*\. The int8 export/);
  expect(err.message).toMatch(/a GPU and browser whose WebGPU maxBufferSize is at least/);
});
