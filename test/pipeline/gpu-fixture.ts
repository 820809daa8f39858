/** A WebGPU runtime (Dawn in Node) and the latent kernels on its device, for the executor tests. */
import { afterAll, beforeAll } from 'vitest';
import { GpuKernels } from '../../src/pipeline/latents-gpu';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { OrtRuntime } from '../../src/runtime/ort';

export interface GpuFixture {
  readonly rt: OrtRuntime;
  readonly kernels: GpuKernels;
  readonly device: GPUDevice;
}

/** Creates them before the enclosing describe's tests and disposes them after; read inside tests. */
export function useGpuKernels(): GpuFixture {
  let rt: OrtRuntime | undefined;
  let kernels: GpuKernels | undefined;
  beforeAll(async () => {
    installNodeWebGPU();
    rt = await OrtRuntime.create({ backend: 'webgpu' });
    kernels = new GpuKernels(rt.device as GPUDevice);
  });
  afterAll(async () => {
    kernels?.dispose();
    await rt?.dispose();
  });
  const need = <T>(x: T | undefined): T => {
    if (x === undefined) throw new Error('useGpuKernels: read inside a test, after beforeAll');
    return x;
  };
  return {
    get rt() {
      return need(rt);
    },
    get kernels() {
      return need(kernels);
    },
    get device() {
      return need(rt).device as GPUDevice;
    },
  };
}
