/**
 * A stand-in for Ldm3dPipeline on a real GPU, for out-of-memory tests (issue 13 item 1): its one
 * "stage" is a real onnxruntime graph on a real Dawn device. Loaded as usual ("all stages
 * resident") the stage needs a 1 GiB intermediate, which SwiftShader's Vulkan driver refuses to
 * allocate (VK_ERROR_OUT_OF_DEVICE_MEMORY: a real GPUOutOfMemoryError, test/runtime/oom.webgpu.test.ts);
 * loaded with LoadHooks.lowMemory it needs 64 MiB, as the real pipeline's staged policy needs
 * less than its resident one. The failure is the GPU's own; only the pipeline is a stand-in.
 */
import { OrtRuntime } from '../../src/runtime/ort';
import type { HostedPipeline, PipelineLoader } from '../../src/workers/hosted-pipeline';
import { expandGraph, ones } from '../runtime/expand-graph';

export { expandGraph };

export const RESIDENT_ROWS = 262144; // 1 GiB
export const LOW_MEMORY_ROWS = 16384; // 64 MiB

/** Loads that happened, with the lowMemory flag each got, and how many runtimes were disposed. */
export interface GpuStandInRecord {
  readonly loads: boolean[];
  disposed: number;
}

export function gpuLoader(rec: GpuStandInRecord): PipelineLoader {
  return async (source, _backend, hooks) => {
    rec.loads.push(hooks.lowMemory ?? false);
    await source.read('unet/model.onnx'); // through the model store, as the real loader reads
    const rt = await OrtRuntime.create({ backend: 'webgpu', limits: 'adapter', subgroups: 'off' });
    const rows = hooks.lowMemory ? LOW_MEMORY_ROWS : RESIDENT_ROWS;
    const unet = await rt.createSession({ label: 'unet', file: 'unet/model.onnx', model: expandGraph(rows) });
    const { width, height } = source.manifest.image;
    const pipeline: HostedPipeline = {
      backend: 'webgpu',
      notices: [],
      async generate(params, step) {
        step.onTokens({ count: 3, max: 77 }, { count: 2, max: 77 });
        const out = await unet.run({ x: ones() });
        const y = (await out.y.getData()) as Float32Array;
        step.onStep(1, 1, null);
        // The picture carries what the GPU computed (the row count), so a result proves the run.
        const rgba = new Uint8ClampedArray(width * height * 4).fill(y[0]! / 1024);
        const depth = new Float32Array(width * height).fill(0.5);
        return { width, height, rgba, depth, depth16: new Uint16Array(width * height).fill(32767), tokens: { prompt: { count: 3, max: 77 }, negative: { count: 2, max: 77 } }, timings: {}, sentPrompt: params.prompt };
      },
      async dispose() {
        await unet.release();
        await rt.dispose();
        rec.disposed++;
      },
    };
    return pipeline;
  };
}


/** True where the 1 GiB allocation fails for real: SwiftShader (a real GPU would allocate it). */
export async function gpuRefusesOneGiB(): Promise<boolean> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return false;
  const name = `${adapter.info.description} ${adapter.info.vendor} ${adapter.info.architecture}`;
  return /swiftshader/i.test(name) && adapter.limits.maxBufferSize >= 2 ** 30;
}
