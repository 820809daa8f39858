/**
 * Out of memory while sharpening, for real (issue 13 item 1): the upscaler is a stand-in whose
 * upscale runs a real onnxruntime graph on a real Dawn device, needing a 1 GiB intermediate that
 * SwiftShader's driver refuses (test/workers/gpu-stand-in.ts). The user must be told what to do,
 * the upscaler released (its GPU memory is what ran out), and the worker stay usable.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/model/manifest';
import type { SrOptions, SrResult } from '../../src/pipeline/sr/pipeline';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import { cpuTensor, OrtRuntime } from '../../src/runtime/ort';
import { PipelineWorkerHost } from '../../src/workers/host';
import type { SharpenRequest, WorkerResponse } from '../../src/workers/protocol';
import type { HostedUpscaler, UpscalerLoader } from '../../src/workers/sr-host';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { fakeControls, fakeLoader } from './fake-pipeline';
import { RESIDENT_ROWS, expandGraph, gpuRefusesOneGiB } from './gpu-stand-in';

function sharpenReq(id: number): SharpenRequest {
  const width = 128;
  const height = 64;
  const rgba = new Uint8ClampedArray(width * height * 4).fill(200);
  const depth = new Float32Array(width * height).fill(0.5);
  return { type: 'sharpen', id, baseUrl: BASE, backend: 'webgpu', width, height, rgba, depth, gaze: { x: 0, y: 0, z: -1 }, steps: 2, seed: 1, layerWidth: 512 };
}

beforeAll(() => {
  installNodeWebGPU();
});

describe('sharpen when the GPU runs out of memory', () => {
  it('says what to do, releases the upscaler, keeps the worker usable, and the next Sharpen loads it again', async (ctx) => {
    if (!(await gpuRefusesOneGiB())) ctx.skip();
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const stats = { loads: 0, disposed: 0 };
    const loadUpscaler: UpscalerLoader = async (source) => {
      stats.loads++;
      const rt = await OrtRuntime.create({ backend: 'webgpu', limits: 'adapter', subgroups: 'off' });
      const unet = await rt.createSession({ label: 'sr unet', file: 'unet/model.onnx', model: expandGraph(RESIDENT_ROWS) });
      const up: HostedUpscaler = {
        manifest: { ...(source.manifest as Manifest), image: { height: 16, width: 16 }, model_id: 'test/sr' } as Manifest,
        backend: 'webgpu',
        async upscale(o: SrOptions): Promise<SrResult> {
          await unet.run({ x: cpuTensor('float32', new Float32Array(1024).fill(1), [1024]) });
          return { rgbFloat: o.rgb.slice(), depth: o.depth.slice() } as unknown as SrResult;
        },
        async dispose() {
          await unet.release();
          await rt.dispose();
          stats.disposed++;
        },
      };
      return up;
    };
    const out: WorkerResponse[] = [];
    const host = new PipelineWorkerHost((m) => out.push(m), {
      loadPipeline: fakeLoader(fakeControls()),
      loadUpscaler,
      store: { fetch: server.fetch, storage: new MemoryModelStorage(), retries: 0 },
      progressIntervalMs: 0,
    });
    const of = <T extends WorkerResponse['type']>(type: T) => out.filter((m) => m.type === type) as Extract<WorkerResponse, { type: T }>[];

    await host.handle(sharpenReq(1));
    const [err] = of('error');
    expect(err).toMatchObject({ id: 1, request: 'sharpen', code: 'out-of-memory' });
    expect(err!.message).toMatch(
      /^The GPU ran out of memory while sharpening \(sr unet: .*VK_ERROR_OUT_OF_DEVICE_MEMORY\)\)\. The scene and its sharpened regions are kept\. The upscaler was released to free GPU memory; Sharpen again to reload it\. If it still runs out, close other tabs and apps, or use the int8 export/,
    );
    expect(stats.disposed).toBe(1);
    expect(of('sharpen-result')).toHaveLength(0);

    // The worker is usable: the panorama model loads and generates.
    await host.handle({ type: 'load', id: 2, baseUrl: BASE, backend: 'webgpu' });
    await host.handle({ type: 'generate', id: 3, prompt: 'a cosy cabin', negativePrompt: '', steps: 1, guidance: 7, scheduler: 'ddim', seed: 1 });
    expect(of('result').map((r) => r.id)).toEqual([3]);
    // The next Sharpen loads the upscaler again (here it still does not fit, and says so again).
    await host.handle(sharpenReq(4));
    expect(stats.loads).toBe(2);
    expect(of('error').map((e) => [e.id, e.code])).toEqual([[1, 'out-of-memory'], [4, 'out-of-memory']]);
    expect(stats.disposed).toBe(2);
    await host.handle({ type: 'dispose' });
  });
});
