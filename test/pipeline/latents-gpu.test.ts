/**
 * The WebGPU executor (shaders/lincomb.wgsl, shaders/preview.wgsl) against the CPU executor, on
 * Dawn: every scheduler's plan with guidance, fed the same fake UNet outputs, must give the same
 * latents (float32 rounding apart) and the same previews (±1 in 255).
 */
import { describe, expect, it } from 'vitest';
import { cpuTensor, gpuTensor } from '../../src/runtime/ort';
import { CpuExecutor } from '../../src/pipeline/latents';
import { GpuExecutor } from '../../src/pipeline/latents-gpu';
import { randomNormals } from '../../src/pipeline/prng';
import { createScheduler, SCHEDULER_NAMES } from '../../src/pipeline/schedulers/index.ts';
import { LDM3D_PANO_SCHEDULER } from './schedulers/helpers';
import { maxAbsDiff } from './goldens';
import { useGpuKernels } from './gpu-fixture';

async function readBuffer(device: GPUDevice, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  const read = device.createBuffer({ size: 4 * count, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, read, 0, 4 * count);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.destroy();
  return out;
}

describe('GpuExecutor vs CpuExecutor', () => {
  const fx = useGpuKernels();

  const shape = { channels: 4, height: 6, width: 10 };
  const n = 4 * 6 * 10;

  for (const name of SCHEDULER_NAMES) {
    for (const guidance of [null, 7.5]) {
      it(`${name}, guidance ${guidance ?? 'off'}: same latents after every step and same previews`, async () => {
        const device = fx.device;
        const plan = createScheduler(name, LDM3D_PANO_SCHEDULER).plan(6);
        const init = randomNormals(3, n);
        const cpu = new CpuExecutor(shape, plan, init, guidance);
        const gpu = await GpuExecutor.create(fx.kernels, shape, plan, init, guidance);
        const batch = guidance === null ? 1 : 2;
        const outBuf = device.createBuffer({ size: 4 * batch * n, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
        try {
          for (let i = 0; i < plan.steps.length; i++) {
            const step = plan.steps[i];
            // The UNet inputs must agree too (scale_model_input, batch duplication).
            const cpuIn = cpu.unetInput(step).data as Float32Array;
            const gpuIn = await readBuffer(device, gpu.unetInput(step).gpuBuffer as GPUBuffer, batch * n);
            const inScale = Math.max(1, ...Array.from(cpuIn, Math.abs));
            expect(maxAbsDiff(gpuIn, cpuIn) / inScale, `unet input ${i}`).toBeLessThan(2e-6);
            // A fake model output that depends on the step.
            const eps = randomNormals(100 + i, batch * n);
            device.queue.writeBuffer(outBuf, 0, eps);
            const cpuPreview = await cpu.apply(step, [cpuTensor('float32', eps, [batch, 4, 6, 10])], true);
            const gpuPreview = await gpu.apply(step, [gpuTensor(outBuf, 'float32', [batch, 4, 6, 10])], true);
            const want = await cpu.readX();
            const got = await gpu.readX();
            const scale = Math.max(1, ...Array.from(want, Math.abs));
            expect(maxAbsDiff(got, want) / scale, `step ${i}`).toBeLessThan(2e-6);
            expect(gpuPreview!.width).toBe(10);
            expect(maxAbsDiff(gpuPreview!.rgba, cpuPreview!.rgba), `preview rgb step ${i}`).toBeLessThanOrEqual(1);
            expect(maxAbsDiff(gpuPreview!.depth, cpuPreview!.depth), `preview depth step ${i}`).toBeLessThanOrEqual(1 / 255 + 1e-6);
          }
          const vaeGpu = await readBuffer(device, gpu.vaeInput(0.18215).gpuBuffer as GPUBuffer, n);
          const vaeCpu = cpu.vaeInput(0.18215).data as Float32Array;
          expect(maxAbsDiff(vaeGpu, vaeCpu) / Math.max(1, ...Array.from(vaeCpu, Math.abs))).toBeLessThan(2e-6);
        } finally {
          gpu.dispose();
          outBuf.destroy();
        }
      });
    }
  }
});
