/**
 * GPU out of memory, for real (issue 13 item 1): Dawn's Vulkan backend asks the driver for a
 * buffer the driver cannot allocate, and WebGPU reports a GPUOutOfMemoryError. On SwiftShader
 * (the CPU Vulkan driver these tests run on without a GPU) one allocation of 1 GiB fails with
 * VK_ERROR_OUT_OF_DEVICE_MEMORY although the adapter's maxBufferSize allows it (it is the
 * driver's largest allocation; nothing is touched, so the test costs no memory). onnxruntime
 * allocates that buffer for an intermediate of a real graph; the runtime must report it as
 * 'out-of-memory' (not as a broken model or a device limit) and keep working afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '../../src/model/errors';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { OrtRuntime } from '../../src/runtime/ort';
import { expandGraph, ones } from './expand-graph';

beforeAll(() => {
  installNodeWebGPU();
});

describe('GPU out of memory on a real device', () => {
  let rt: OrtRuntime;
  beforeAll(async () => {
    rt = await OrtRuntime.create({ backend: 'webgpu', limits: 'adapter', subgroups: 'off' });
  });
  afterAll(() => rt?.dispose());

  it("an allocation the driver refuses becomes 'out-of-memory', and the same runtime runs what fits afterwards", async (ctx) => {
    const limits = (rt.device as GPUDevice).limits;
    if (!/swiftshader/i.test(rt.adapter) || limits.maxBufferSize < 2 ** 30) ctx.skip(); // the 1 GiB allocation ceiling is SwiftShader's
    // 262144 × 1024 float32 = 1 GiB: within maxBufferSize, past what the driver allocates.
    const big = await rt.createSession({ label: 'expand', file: 'expand.onnx', model: expandGraph(262144) });
    let err: unknown = null;
    try {
      await big.run({ x: ones() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('out-of-memory');
    expect((err as PipelineError).message).toMatch(/^expand: .*out of memory.*VK_ERROR_OUT_OF_DEVICE_MEMORY/s);
    await big.release();
    // Memory released: the same device and ORT run a graph that fits, with the right numbers.
    const fits = await rt.createSession({ label: 'expand', file: 'expand.onnx', model: expandGraph(16384) });
    const out = await fits.run({ x: ones() });
    expect(((await out.y.getData()) as Float32Array)[0]).toBe(16384);
    await fits.release();
  });
});
