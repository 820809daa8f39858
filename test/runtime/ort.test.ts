import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuTensor, gpuTensor, OrtRuntime } from '../../src/runtime/ort';
import { installNodeWebGPU } from '../../src/runtime/node-webgpu';
import { isPipelineError, PipelineError } from '../../src/pipeline/errors';
import { buildModel } from './onnx-builder';

// y = a·w + b with a constant w: small, but it has an initializer, two inputs and one output.
const model = buildModel({
  inputs: [
    { name: 'a', type: 'float32', shape: ['n'] },
    { name: 'b', type: 'float32', shape: ['n'] },
  ],
  outputs: [{ name: 'y', type: 'float32', shape: ['n'] }],
  nodes: [
    { op: 'Mul', inputs: ['a', 'w'], outputs: ['aw'] },
    { op: 'Add', inputs: ['aw', 'b'], outputs: ['y'] },
  ],
  initializers: [{ name: 'w', dims: [1], data: new Float32Array([3]) }],
});

const f32 = (...v: number[]) => cpuTensor('float32', new Float32Array(v), [v.length]);

beforeAll(() => {
  // Before any session: it also switches V8 to Liftoff-only (see node-webgpu.ts).
  installNodeWebGPU();
});

describe('OrtRuntime on wasm', () => {
  let rt: OrtRuntime;
  beforeAll(async () => {
    rt = await OrtRuntime.create({ backend: 'wasm' });
  });
  afterAll(() => rt.dispose());

  it('runs a session from bytes and has no notice', async () => {
    expect(rt.backend).toBe('wasm');
    expect(rt.device).toBeNull();
    expect(rt.notice).toBeNull();
    const s = await rt.createSession({ label: 'tiny', file: 'tiny/model.onnx', model });
    expect(s.inputNames).toEqual(['a', 'b']);
    const out = await s.run({ a: f32(1, 2, 3), b: f32(10, 20, 30) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([13, 26, 39]);
  });

  it('serialises concurrent runs and keeps order', async () => {
    const s = await rt.createSession({ label: 'tiny', file: 'tiny/model.onnx', model });
    const results = await Promise.all([1, 2, 3, 4].map((k) => s.run({ a: f32(k), b: f32(0) })));
    expect(results.map((r) => (r.y.data as Float32Array)[0])).toEqual([3, 6, 9, 12]);
  });

  it('names the file and the reason when a graph is corrupt', async () => {
    const corrupt = model.slice(0, 40);
    let err: unknown;
    try {
      await rt.createSession({ label: 'unet', file: 'unet/model.onnx', model: corrupt });
    } catch (e) {
      err = e;
    }
    expect(isPipelineError(err, 'model-file')).toBe(true);
    expect((err as PipelineError).file).toBe('unet/model.onnx');
    expect((err as Error).message).toMatch(/^unet\/model\.onnx: onnxruntime cannot load this unet graph: .+/);
    // The runtime is still usable afterwards.
    const s = await rt.createSession({ label: 'tiny', file: 'tiny/model.onnx', model });
    expect(((await s.run({ a: f32(1), b: f32(1) })).y.data as Float32Array)[0]).toBe(4);
  });

  it('turns a failing run into a PipelineError and keeps going', async () => {
    const s = await rt.createSession({ label: 'tiny', file: 'tiny/model.onnx', model });
    await expect(s.run({ a: f32(1, 2), b: f32(1, 2, 3) })).rejects.toSatisfy((e) => isPipelineError(e, 'runtime'));
    expect(((await s.run({ a: f32(2), b: f32(1) })).y.data as Float32Array)[0]).toBe(7);
  });
});

describe('OrtRuntime on WebGPU (Dawn)', () => {
  let rt: OrtRuntime;
  beforeAll(async () => {
    rt = await OrtRuntime.create({ backend: 'webgpu' });
  });
  afterAll(() => rt.dispose());

  it('owns a GPUDevice and keeps outputs on the GPU when asked', async () => {
    expect(rt.backend).toBe('webgpu');
    const device = rt.device as GPUDevice;
    expect(device).not.toBeNull();
    const s = await rt.createSession({ label: 'tiny', file: 'tiny/model.onnx', model, gpuOutputs: true });
    const out = await s.run({ a: f32(1, 2, 3, 4), b: f32(10, 20, 30, 40) });
    expect(out.y.location).toBe('gpu-buffer');
    // The output buffer is on our device: feed it back through our own buffer and ORT's.
    const mine = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    device.queue.writeBuffer(mine, 0, new Float32Array([1, 1, 1, 1]));
    const again = await s.run({ a: gpuTensor(out.y.gpuBuffer as GPUBuffer, 'float32', [4]), b: gpuTensor(mine, 'float32', [4]) });
    expect(Array.from((await again.y.getData()) as Float32Array)).toEqual([40, 79, 118, 157]);
    out.y.dispose();
    again.y.dispose();
    mine.destroy();
  });

  it('reports a lost device as device-lost on the next run', async () => {
    const other = await OrtRuntime.create({ backend: 'webgpu' });
    const s = await other.createSession({ label: 'tiny', file: 'tiny/model.onnx', model });
    (other.device as GPUDevice).destroy();
    // destroy() resolves `lost`; it is only a loss when the runtime did not ask for it.
    await (other.device as GPUDevice).lost;
    await new Promise((r) => setTimeout(r, 0));
    await expect(s.run({ a: f32(1), b: f32(1) })).rejects.toSatisfy((e) => isPipelineError(e, 'device-lost'));
    await other.dispose();
  });
});

describe('OrtRuntime.create fallback', () => {
  it("'auto' falls back to wasm with a notice naming the reason when there is no WebGPU", async () => {
    const nav = globalThis.navigator as { gpu?: GPU };
    const gpu = nav.gpu;
    Object.defineProperty(nav, 'gpu', { value: undefined, configurable: true, writable: true });
    try {
      const rt = await OrtRuntime.create({ backend: 'auto' });
      expect(rt.backend).toBe('wasm');
      expect(rt.notice).toMatch(/WebGPU is not available \(this browser has no WebGPU.*\).*WebAssembly/);
      await rt.dispose();
      await expect(OrtRuntime.create({ backend: 'webgpu' })).rejects.toSatisfy((e) => isPipelineError(e, 'webgpu-unavailable'));
    } finally {
      Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
    }
  });
});
