import { describe, expect, it } from 'vitest';
import { PipelineClient, PipelineError } from '../../src/workers/client';
import { WORKER_RESTARTED_NOTICE, createGenerationStore } from '../../src/state/generation';
import { createSceneStore } from '../../src/state/viewer';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import type { GenerateParams, ProgressMessage, WorkerRequest } from '../../src/workers/protocol';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { fakeControls } from './fake-pipeline';
import { InProcessWorker } from './in-process-worker';

function setup(options: { cancelGraceMs?: number } = {}) {
  const files = standardFiles();
  const server = new FakeServer(files, makeManifest(files));
  const storage = new MemoryModelStorage();
  const controls = fakeControls();
  const workers: InProcessWorker[] = [];
  const client = new PipelineClient({
    createWorker: () => {
      const w = new InProcessWorker(server, controls, storage);
      workers.push(w);
      return w;
    },
    cancelGraceMs: options.cancelGraceMs ?? 1000,
  });
  return { client, workers, controls, server };
}

const params: GenerateParams = { prompt: 'a beach at dusk', negativePrompt: 'blurry', steps: 4, guidance: 7, scheduler: 'euler', seed: 7 };

async function rejection(p: Promise<unknown>): Promise<PipelineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PipelineError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('PipelineClient', () => {
  it('plans, loads and generates through promises with progress callbacks', async () => {
    const { client } = setup();
    const plan = await client.plan(BASE);
    expect(plan.remainingBytes).toBe(plan.totalBytes);
    const loadEvents: number[] = [];
    const loaded = await client.load(BASE, 'auto', (p) => loadEvents.push(p.overall.loaded));
    expect(loaded.backend).toBe('webgpu');
    expect(client.loaded).toBe(loaded);
    expect(loadEvents.at(-1)).toBe(plan.totalBytes);
    const progress: ProgressMessage[] = [];
    const result = await client.generate(params, { onProgress: (p) => progress.push(p) });
    expect(progress.map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
    expect(progress[2]!.preview!.rgba).toBeInstanceOf(Uint8ClampedArray);
    expect(result).toMatchObject({ width: 128, height: 64 });
    expect(result.rgba).toBeInstanceOf(Uint8ClampedArray);
    expect(result.metadata).toMatchObject({ prompt: 'a beach at dusk', negativePrompt: 'blurry', scheduler: 'euler', seed: 7 });
    expect(client.busy).toBe(false);
  });

  it('cancel() rejects the running generation with code cancelled; the next one works', async () => {
    const { client, controls } = setup();
    await client.load(BASE);
    controls.onStep = (s) => {
      if (s === 2) client.cancel();
    };
    const e = await rejection(client.generate({ ...params, steps: 20 }));
    expect(e.code).toBe('cancelled');
    expect(e.workerRestarted).toBe(false);
    controls.onStep = undefined;
    expect((await client.generate(params)).metadata.seed).toBe(7);
  });

  it('cancels through an AbortSignal', async () => {
    const { client, controls } = setup();
    await client.load(BASE);
    const ac = new AbortController();
    controls.onStep = (s) => {
      if (s === 1) ac.abort();
    };
    expect((await rejection(client.generate({ ...params, steps: 20 }, { signal: ac.signal }))).code).toBe('cancelled');
  });

  it('survives a worker crash: pending calls reject clearly, the next call starts a new worker', async () => {
    const { client, workers, controls } = setup();
    await client.load(BASE);
    controls.onStep = (s) => {
      if (s === 2) workers[0]!.crash('RangeError: Array buffer allocation failed');
    };
    const e = await rejection(client.generate({ ...params, steps: 20 }));
    expect(e.code).toBe('worker-crashed');
    expect(e.message).toMatch(/worker stopped unexpectedly: RangeError: Array buffer allocation failed/);
    expect(workers[0]!.terminated).toBe(true);
    expect(client.loaded).toBeNull();
    controls.onStep = undefined;
    // A fresh worker has no pipeline: it says so, and a load makes it work again.
    expect((await rejection(client.generate(params))).code).toBe('not-loaded');
    expect(workers).toHaveLength(2);
    await client.load(BASE);
    expect((await client.generate(params)).width).toBe(128);
  });

  it('replaces a worker that does not stop after cancel', async () => {
    const { client, workers, controls } = setup({ cancelGraceMs: 50 });
    await client.load(BASE);
    controls.onStep = (s) => {
      if (s === 1) {
        workers[0]!.hung = true;
        client.cancel();
      }
    };
    const e = await rejection(client.generate({ ...params, steps: 200 }));
    expect(e.code).toBe('cancelled');
    expect(e.message).toMatch(/did not stop within/);
    expect(e.workerRestarted).toBe(true);
    expect(workers[0]!.terminated).toBe(true);
  });

  it('waits at least three step durations before replacing a worker that does not stop', async () => {
    const { client, workers, controls } = setup({ cancelGraceMs: 50 });
    await client.load(BASE);
    controls.stepMs = 120;
    let cancelledAt = 0;
    controls.onStep = (s) => {
      if (s === 3) {
        workers[0]!.hung = true;
        cancelledAt = performance.now();
        client.cancel();
      }
    };
    const e = await rejection(client.generate({ ...params, steps: 200 }));
    expect(e.code).toBe('cancelled');
    // Steps take ≥ 120 ms, so the grace is ≥ 360 ms, not the configured 50 ms.
    expect(performance.now() - cancelledAt).toBeGreaterThanOrEqual(300);
    expect(workers[0]!.terminated).toBe(true);
  });

  it('rejects with the model error naming the file', async () => {
    const { client, server } = setup();
    server.missing.add('vae_decoder/model.onnx');
    const e = await rejection(client.load(BASE));
    expect(e).toMatchObject({ code: 'model-missing', file: 'vae_decoder/model.onnx' });
    expect(e.message).toMatch(/^vae_decoder\/model\.onnx: missing on the server/);
  });

  it('a worker that ignores cancel: terminated after the grace time, a normal cancel with a reload notice, the next Generate loads in a new worker', async () => {
    // The first worker drops every cancel and keeps stepping (a cancel that never reaches the
    // pipeline's signal); the ones after it are ordinary.
    class IgnoresCancel extends InProcessWorker {
      override postMessage(message: WorkerRequest): void {
        if (message.type === 'cancel') this.requests.push(message);
        else super.postMessage(message);
      }
    }
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const storage = new MemoryModelStorage();
    const controls = fakeControls();
    const workers: InProcessWorker[] = [];
    const client = new PipelineClient({
      createWorker: () => {
        const w = workers.length === 0 ? new IgnoresCancel(server, controls, storage) : new InProcessWorker(server, controls, storage);
        workers.push(w);
        return w;
      },
      cancelGraceMs: 100,
    });
    const scene = createSceneStore({ near: 1, far: 20 });
    const store = createGenerationStore(
      { client, scene, resolveModelUrl: () => BASE, previewIntervalMs: 0, randomSeed: () => 1 },
      // 60 steps of ≥ 5 ms outlast the 100 ms grace: the ignored cancel must be what ends the run.
      { prompt: 'a cave lit by torches', steps: 60, scheduler: 'euler' },
    );
    controls.stepMs = 5;
    let cancelledAt: number | null = null;
    const stepsAfterIdle: number[] = [];
    controls.onStep = (s) => {
      if (s === 2 && cancelledAt === null) {
        cancelledAt = performance.now();
        store.getState().cancel();
      }
    };
    store.subscribe((st) => {
      if (cancelledAt !== null && st.status === 'idle' && st.progress) stepsAfterIdle.push(st.progress.fraction);
    });

    await store.getState().generate();
    const elapsed = performance.now() - cancelledAt!;
    const s = store.getState();
    // Reported as the cancel the user asked for, not as an error…
    expect(s.status).toBe('idle');
    expect(s.error).toBeNull();
    expect(s.progress).toBeNull();
    expect(s.last).toBeNull();
    // …after the grace time, with the worker terminated and the reason told.
    expect(workers[0]!.requests.some((r) => r.type === 'cancel')).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(workers[0]!.terminated).toBe(true);
    expect(client.loaded).toBeNull();
    expect(s.notices).toContain(WORKER_RESTARTED_NOTICE);
    // The terminated worker's later steps reach nobody.
    await new Promise((r) => setTimeout(r, 100));
    expect(stepsAfterIdle).toEqual([]);
    expect(store.getState().progress).toBeNull();
    // Lazily: nothing starts a worker or loads until the user generates again.
    expect(workers).toHaveLength(1);

    controls.onStep = undefined;
    store.getState().updateSettings({ steps: 3 });
    await store.getState().generate();
    expect(workers).toHaveLength(2);
    expect(workers[1]!.requests.map((r) => r.type)).toEqual(['plan', 'load', 'generate']);
    const after = store.getState();
    expect(after.error).toBeNull();
    expect(after.last!.result.metadata).toMatchObject({ prompt: 'a cave lit by torches', steps: 3 });
    expect(client.loaded).not.toBeNull();
    // The reload it announced has happened: the notice goes.
    expect(after.notices).not.toContain(WORKER_RESTARTED_NOTICE);
  });

  it('dispose() frees the pipeline, ends the worker and refuses further calls', async () => {
    const { client, workers, controls } = setup();
    await client.load(BASE);
    await client.dispose();
    expect(controls.disposals).toBe(1);
    expect(workers[0]!.terminated).toBe(true);
    await expect(client.plan(BASE)).rejects.toMatchObject({ code: 'disposed' });
  });
});
