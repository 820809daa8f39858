/**
 * GPU out of memory as the user meets it (issue 13 item 1): the generation store, the real
 * client and worker host, and the real-GPU stand-in pipeline (test/workers/gpu-stand-in.ts)
 * whose first load needs an allocation SwiftShader's driver refuses. The scene on screen must
 * stay, the message must say what to do, and the next Generate must work.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import { createGenerationStore } from '../../src/state/generation';
import { createSceneStore } from '../../src/state/viewer';
import { PipelineClient } from '../../src/workers/client';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { fakeControls } from '../workers/fake-pipeline';
import { gpuLoader, gpuRefusesOneGiB, type GpuStandInRecord } from '../workers/gpu-stand-in';
import { InProcessWorker } from '../workers/in-process-worker';

beforeAll(() => {
  installNodeWebGPU();
});

describe('generation store when the GPU runs out of memory', () => {
  it('keeps the scene on screen, says what to do, stays usable, and the next Generate shows a new scene', async (ctx) => {
    if (!(await gpuRefusesOneGiB())) ctx.skip();
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const storage = new MemoryModelStorage();
    const rec: GpuStandInRecord = { loads: [], disposed: 0 };
    const workers: InProcessWorker[] = [];
    const client = new PipelineClient({
      createWorker: () => {
        const w = new InProcessWorker(server, fakeControls(), storage, gpuLoader(rec));
        workers.push(w);
        return w;
      },
    });
    const scene = createSceneStore({ near: 1, far: 20 });
    const shownBefore = scene.getState().showPanorama(
      { width: 4, height: 2, rgba: new Uint8ClampedArray(32).fill(200), depth: new Float32Array(8).fill(3) },
      'The scene before',
    );
    const store = createGenerationStore(
      { client, scene, resolveModelUrl: () => BASE, previewIntervalMs: 0, randomSeed: () => 7 },
      { prompt: 'a lighthouse on a cliff', steps: 1 },
    );

    await store.getState().generate();
    let s = store.getState();
    expect(s.error).toMatchObject({ code: 'out-of-memory' });
    expect(s.error!.message).toMatch(/^The GPU ran out of memory while generating .*The current scene is kept\..*one stage on the GPU at a time.*int8 export/);
    // 'error' until the next action; nothing is busy, so Generate is available again.
    expect(s.status).toBe('error');
    expect(s.last).toBeNull();
    // The scene is still the one on screen before, and no preview hides it.
    expect(scene.getState().current).toMatchObject({ id: shownBefore, label: 'The scene before' });
    expect(scene.getState().preview).toBeNull();

    await store.getState().generate();
    s = store.getState();
    expect(s.error).toBeNull();
    expect(s.status).toBe('idle');
    expect(s.last).not.toBeNull();
    expect(scene.getState().current!.id).toBe(s.last!.panoramaId);
    expect(scene.getState().current!.id).not.toBe(shownBefore);
    // The same worker: recovered by reloading with less on the GPU, not by a restart.
    expect(workers).toHaveLength(1);
    expect(rec.loads).toEqual([false, true]);
    client.dispose?.();
  });
});
