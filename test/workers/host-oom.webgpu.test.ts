/**
 * GPU out of memory through the worker host, for real (issue 13 item 1), with the real-GPU
 * stand-in pipeline of gpu-stand-in.ts: what the user is told, that the host stays usable, and
 * that the next Generate reloads with less on the GPU and produces a panorama.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import { LOW_MEMORY_NOTICE, PipelineWorkerHost } from '../../src/workers/host';
import type { GenerateRequest, WorkerResponse } from '../../src/workers/protocol';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { LOW_MEMORY_ROWS, gpuLoader, gpuRefusesOneGiB, type GpuStandInRecord } from './gpu-stand-in';

const gen = (id: number): GenerateRequest => ({ type: 'generate', id, prompt: 'a cosy cabin', negativePrompt: '', steps: 1, guidance: 7, scheduler: 'ddim', seed: 1 });

beforeAll(() => {
  installNodeWebGPU();
});

describe('PipelineWorkerHost when the GPU runs out of memory', () => {
  it('tells the user what to do, unloads the model, and the next Generate reloads with one stage at a time and works', async (ctx) => {
    // The 1 GiB allocation ceiling that makes this a real OOM is SwiftShader's; a real GPU would allocate it.
    if (!(await gpuRefusesOneGiB())) ctx.skip();
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const rec: GpuStandInRecord = { loads: [], disposed: 0 };
    const out: WorkerResponse[] = [];
    const host = new PipelineWorkerHost((m) => out.push(m), {
      loadPipeline: gpuLoader(rec),
      store: { fetch: server.fetch, storage: new MemoryModelStorage(), retries: 0 },
      progressIntervalMs: 0,
    });
    const of = <T extends WorkerResponse['type']>(type: T) => out.filter((m) => m.type === type) as Extract<WorkerResponse, { type: T }>[];

    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'webgpu' });
    expect(of('loaded')).toHaveLength(1);
    expect(of('loaded')[0]!.notices).toEqual([]);

    await host.handle(gen(2));
    const [err] = of('error');
    expect(err).toMatchObject({ id: 2, request: 'generate', code: 'out-of-memory' });
    expect(err!.message).toMatch(/^The GPU ran out of memory while generating \(unet: .*out of memory.*VK_ERROR_OUT_OF_DEVICE_MEMORY\)\)\. The current scene is kept\./);
    expect(err!.message).toMatch(/Generate again to reload it with one stage on the GPU at a time .* If it still runs out, use the int8 export of the model \(models\/narrow_weights\.py --storage int8/);
    expect(err!.message).not.toContain('\n');
    // Unloaded: its GPU memory (sessions, device) was released.
    expect(rec.disposed).toBe(1);
    expect(of('result')).toHaveLength(0);

    // Still usable: the next Generate reloads lazily, keeping less on the GPU, and produces a panorama.
    await host.handle(gen(3));
    expect(rec.loads).toEqual([false, true]);
    const [result] = of('result');
    expect(result).toMatchObject({ id: 3, width: 128, height: 64 });
    expect(result!.rgba[0]).toBe(LOW_MEMORY_ROWS / 1024);
    expect(of('error')).toHaveLength(1);

    // A later explicit load says how the model is loaded now.
    await host.handle({ type: 'load', id: 4, baseUrl: BASE, backend: 'webgpu' });
    expect(of('loaded')[1]).toMatchObject({ id: 4, notices: [LOW_MEMORY_NOTICE] });
    expect(rec.loads).toHaveLength(2);
    await host.handle({ type: 'dispose' });
    expect(rec.disposed).toBe(2);
  });
});
