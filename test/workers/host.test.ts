import { describe, expect, it } from 'vitest';
import { PipelineError } from '../../src/model/errors';
import { PipelineWorkerHost } from '../../src/workers/host';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import type { GenerateRequest, WorkerResponse } from '../../src/workers/protocol';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { fakeControls, fakeLoader } from './fake-pipeline';

function setup() {
  const files = standardFiles();
  const server = new FakeServer(files, makeManifest(files));
  const controls = fakeControls();
  const out: { m: WorkerResponse; transfer: Transferable[] }[] = [];
  const host = new PipelineWorkerHost((m, transfer) => out.push({ m, transfer }), {
    loadPipeline: fakeLoader(controls),
    store: { fetch: server.fetch, storage: new MemoryModelStorage(), retries: 0, chunkBytes: 4096 },
    progressIntervalMs: 0,
  });
  const of = <T extends WorkerResponse['type']>(type: T) =>
    out.filter((o) => o.m.type === type).map((o) => o.m as Extract<WorkerResponse, { type: T }>);
  return { host, out, of, server, controls };
}

const gen = (id: number, over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  type: 'generate',
  id,
  prompt: 'a cosy cabin',
  negativePrompt: '',
  steps: 3,
  guidance: 7,
  scheduler: 'ddim',
  seed: 42,
  ...over,
});

describe('PipelineWorkerHost', () => {
  it("plans the upscaler's files for models 'sr' (the VAE encoder too), so the size asked about is what sharpen downloads", async () => {
    const { host, of, server } = setup();
    await host.handle({ type: 'plan', id: 1, baseUrl: BASE, models: 'sr' });
    const [planned] = of('planned');
    const paths = planned!.plan.files.map((f) => f.path);
    expect(paths).toContain('vae_encoder/model.onnx');
    expect(paths).toContain('unet/model.onnx');
    expect(planned!.plan.remainingBytes).toBe([...server.files].filter(([p]) => paths.includes(p)).reduce((a, [, b]) => a + b.length, 0));
    // Only the manifest was fetched: sizing downloads nothing.
    expect(server.requests.map((r) => r.path)).toEqual(['manifest.json']);
  });

  it('plans, then loads with progress, then generates with per-step progress and a transferred result', async () => {
    const { host, out, of, server } = setup();
    await host.handle({ type: 'plan', id: 1, baseUrl: BASE });
    const [planned] = of('planned');
    expect(planned!.plan).toMatchObject({ modelId: 'test/tiny', testWeights: true, cachedBytes: 0 });
    // The VAE encoder is not needed for text → panorama and is neither planned nor downloaded.
    expect(planned!.plan.files.map((f) => f.path)).not.toContain('vae_encoder/model.onnx');
    expect(planned!.plan.totalBytes).toBe(planned!.plan.files.reduce((a, f) => a + f.bytes, 0));

    await host.handle({ type: 'load', id: 2, baseUrl: BASE, backend: 'auto' });
    const progress = of('load-progress');
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.every((p) => p.id === 2 && p.overall.total === planned!.plan.totalBytes)).toBe(true);
    expect(progress.at(-1)!.phase).toBe('creating-sessions');
    const [loaded] = of('loaded');
    expect(loaded).toMatchObject({ id: 2, backend: 'webgpu', testWeights: true, notices: [], runtime: 'fake webgpu runtime' });
    expect(loaded!.summary).toMatchObject({ modelId: 'test/tiny', width: 128, height: 64, defaults: { steps: 3, guidance: 7, scheduler: 'ddim' } });
    expect(server.requests.some((r) => r.path === 'vae_encoder/model.onnx')).toBe(false);

    await host.handle(gen(3));
    const steps = of('progress');
    expect(steps.map((s) => s.step)).toEqual([0, 1, 2, 3]);
    expect(steps[0]!.tokens).toEqual({ prompt: { count: 5, max: 77 }, negative: { count: 2, max: 77 } });
    expect(steps[1]!.preview).toMatchObject({ width: 4, height: 2 });
    expect(steps[3]!.etaMs).toBe(0);
    const result = out.find((o) => o.m.type === 'result')!;
    const r = result.m as Extract<WorkerResponse, { type: 'result' }>;
    expect(r).toMatchObject({ id: 3, width: 128, height: 64 });
    expect(r.rgba[0]).toBe(42);
    expect(r.depth16[0]).toBe(32767);
    expect(r.metadata).toMatchObject({ prompt: 'a cosy cabin', seed: 42, steps: 3, scheduler: 'ddim', backend: 'webgpu', modelId: 'test/tiny', testWeights: true });
    expect(result.transfer).toHaveLength(3);
    // A preview's buffer is transferred too.
    expect(out.find((o) => o.m.type === 'progress' && (o.m as { step: number }).step === 1)!.transfer).toHaveLength(1);
  });

  it('reports a missing model file by name and stays usable', async () => {
    const { host, of, server } = setup();
    server.missing.add('unet/model.onnx_data');
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    const [err] = of('error');
    expect(err).toMatchObject({ id: 1, request: 'load', code: 'model-missing', file: 'unet/model.onnx_data' });
    expect(err!.message).toContain('unet/model.onnx_data');
    server.missing.clear();
    await host.handle({ type: 'load', id: 2, baseUrl: BASE, backend: 'auto' });
    expect(of('loaded')).toHaveLength(1);
  });

  it('reports a sha256 mismatch by file name', async () => {
    const { host, of, server } = setup();
    server.replaced.set('text_encoder/model.onnx', new Uint8Array(3000));
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    expect(of('error')[0]).toMatchObject({ code: 'model-sha256-mismatch', file: 'text_encoder/model.onnx' });
  });

  it('passes on the WASM fallback notice', async () => {
    const { host, of, controls } = setup();
    controls.webgpu = false;
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    expect(of('loaded')[0]).toMatchObject({ backend: 'wasm', notices: ['WebGPU unavailable — running on WASM (slower)'] });
  });

  it('cancels mid-run, answers cancelled, and the next generation works', async () => {
    const { host, of, controls } = setup();
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    controls.onStep = (step) => {
      if (step === 2) void host.handle({ type: 'cancel', id: 2 });
    };
    await host.handle(gen(2, { steps: 10 }));
    expect(of('cancelled')).toEqual([{ type: 'cancelled', id: 2 }]);
    expect(of('progress').filter((p) => p.id === 2).map((p) => p.step)).toEqual([0, 1]);
    expect(of('result')).toHaveLength(0);
    controls.onStep = undefined;
    await host.handle(gen(3));
    expect(of('result').map((r) => r.id)).toEqual([3]);
  });

  it('refuses a second job while one runs, and bad parameters', async () => {
    const { host, of, controls } = setup();
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    let second: Promise<void> | null = null;
    controls.onStep = (step) => {
      if (step === 1) second = host.handle(gen(3));
    };
    await host.handle(gen(2));
    await second;
    expect(of('error')[0]).toMatchObject({ id: 3, code: 'busy' });
    expect(of('result').map((r) => r.id)).toEqual([2]);
    controls.onStep = undefined;
    await host.handle(gen(4, { steps: 0 }));
    await host.handle(gen(5, { scheduler: 'lms' as never }));
    await host.handle(gen(6, { seed: -1 }));
    expect(of('error').slice(1).map((e) => [e.id, e.code])).toEqual([
      [4, 'bad-request'],
      [5, 'bad-request'],
      [6, 'bad-request'],
    ]);
  });

  it('passes the DeepCache interval and preset to the pipeline and the metadata, and says whether the model has the graphs', async () => {
    const { host, of, controls } = setup();
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    expect(of('loaded')[0]!.supportsDeepCache).toBe(false);
    // Without the fields (an older client): the cache is off and the preset unnamed.
    await host.handle(gen(2));
    expect(controls.lastParams!.deepCacheInterval).toBe(1);
    expect(of('result')[0]!.metadata).toMatchObject({ deepCacheInterval: 1, preset: 'custom' });
    await host.handle(gen(3, { scheduler: 'dpm', steps: 4, preset: 'headset', deepCacheInterval: 1 }));
    expect(of('result')[1]!.metadata).toMatchObject({ scheduler: 'dpm', steps: 4, deepCacheInterval: 1, preset: 'headset' });
    // An interval this model cannot run is the pipeline's bad option, a bad request to the UI.
    await host.handle(gen(4, { deepCacheInterval: 2 }));
    expect(of('error')[0]).toMatchObject({ id: 4, code: 'bad-request' });

    const other = setup();
    other.controls.deepCache = true;
    await other.host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    expect(other.of('loaded')[0]!.supportsDeepCache).toBe(true);
    await other.host.handle(gen(2, { deepCacheInterval: 3, preset: 'custom' }));
    expect(other.controls.lastParams!.deepCacheInterval).toBe(3);
    expect(other.of('result')[0]!.metadata).toMatchObject({ deepCacheInterval: 3, preset: 'custom' });
  });

  it('refuses DeepCache intervals outside 1…10 and unknown presets before running', async () => {
    const { host, of, controls } = setup();
    controls.deepCache = true;
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    await host.handle(gen(2, { deepCacheInterval: 0 }));
    await host.handle(gen(3, { deepCacheInterval: 11 }));
    await host.handle(gen(4, { deepCacheInterval: 1.5 }));
    await host.handle(gen(5, { preset: 'fast' as never }));
    expect(of('error').map((e) => [e.id, e.code])).toEqual([
      [2, 'bad-request'],
      [3, 'bad-request'],
      [4, 'bad-request'],
      [5, 'bad-request'],
    ]);
    expect(of('error')[0]!.message).toMatch(/deepCacheInterval must be a whole number from 1 to 10 \(got 0\)/);
    expect(of('error')[3]!.message).toMatch(/preset must be one of headset, reference, custom/);
    expect(controls.lastParams).toBeNull();
  });

  it('says a model must be loaded first', async () => {
    const { host, of } = setup();
    await host.handle(gen(1));
    expect(of('error')[0]).toMatchObject({ id: 1, code: 'not-loaded' });
  });

  it('recovers from a lost GPU device: clear error, and the retry reloads and generates', async () => {
    const { host, of, controls, server } = setup();
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    controls.loseDeviceAtStep = 2;
    await host.handle(gen(2));
    expect(of('error')[0]).toMatchObject({ id: 2, code: 'device-lost' });
    expect(of('error')[0]!.message).toMatch(/GPU device was lost.*Generate again/);
    expect(controls.disposals).toBe(1);
    const sent = server.bodyBytesSent;
    await host.handle(gen(3));
    expect(of('result').map((r) => r.id)).toEqual([3]);
    expect(controls.loads).toBe(2);
    // The reload came from the model store, not the network.
    expect(server.bodyBytesSent).toBe(sent);
  });

  it('reuses a loaded pipeline for the same model and backend, replaces it for another backend', async () => {
    const { host, controls } = setup();
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    await host.handle({ type: 'load', id: 2, baseUrl: BASE, backend: 'auto' });
    expect(controls.loads).toBe(1);
    await host.handle({ type: 'load', id: 3, baseUrl: BASE, backend: 'wasm' });
    expect(controls.loads).toBe(2);
    expect(controls.disposals).toBe(1);
  });

  it('cancels a download and keeps what arrived', async () => {
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const storage = new MemoryModelStorage();
    const out: WorkerResponse[] = [];
    let host: PipelineWorkerHost;
    // Cancel from inside the transfer of the big file, as a user pressing Cancel mid-download.
    const fetchAndCancel: typeof fetch = async (input, init) => {
      const r = await server.fetch(input, init);
      if (String(input).endsWith('unet/model.onnx_data')) void host.handle({ type: 'cancel', id: 1 });
      return r;
    };
    host = new PipelineWorkerHost((m) => out.push(m), {
      loadPipeline: fakeLoader(fakeControls()),
      store: { fetch: fetchAndCancel, storage, retries: 0, chunkBytes: 4096 },
    });
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    expect(out.filter((m) => m.type === 'cancelled')).toEqual([{ type: 'cancelled', id: 1 }]);
    expect(out.some((m) => m.type === 'loaded' || m.type === 'error')).toBe(false);
    // The files before the big one are complete and kept.
    expect((await storage.stat(BASE + 'unet/model.onnx'))?.complete).toBe(true);
  });

  it('a stored model file damaged on disk: the next page drops it, downloads it again while loading, says so, and generates', async () => {
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const storage = new MemoryModelStorage();
    const page = () => {
      const out: WorkerResponse[] = [];
      const controls = fakeControls();
      const host = new PipelineWorkerHost((m) => out.push(m), {
        loadPipeline: fakeLoader(controls),
        store: { fetch: server.fetch, storage, retries: 0, chunkBytes: 512 },
        progressIntervalMs: 0,
      });
      return { host, out, controls };
    };
    const first = page();
    await first.host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    expect(first.out.find((m) => m.type === 'loaded')).toMatchObject({ notices: [] });
    // The UNet graph (2000 bytes, four 512-byte chunks) gets one byte flipped in place.
    storage.corrupt(BASE + 'unet/model.onnx', 1500);
    const sent = server.bodyBytesSent;

    const second = page();
    await second.host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    const loaded = second.out.find((m) => m.type === 'loaded');
    expect(loaded).toMatchObject({
      notices: ['unet/model.onnx: the copy stored in this browser was damaged (chunk 3 of 4 (bytes 1024–1535) does not match the sha256 recorded when it was stored), so it was removed and downloaded again.'],
    });
    // Only that file came over the network again, and its download was shown as progress.
    expect(server.bodyBytesSent - sent).toBe(2000);
    const progress = second.out.filter((m): m is Extract<WorkerResponse, { type: 'load-progress' }> => m.type === 'load-progress');
    expect(progress.some((p) => p.file === 'unet/model.onnx' && p.phase === 'downloading')).toBe(true);
    await second.host.handle(gen(2));
    expect(second.out.some((m) => m.type === 'result' && m.id === 2)).toBe(true);
  });

  it('out of memory on the WASM fallback: says the browser ran out, and a second one says what is left to do', async () => {
    // The real out-of-memory path is tested on a GPU (host-oom.webgpu.test.ts); this checks the wording per back end.
    const { host, of, controls } = setup();
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'wasm' });
    const oom = () => {
      controls.onStep = (step) => {
        if (step === 1) throw new PipelineError('out-of-memory', 'unet: out of memory (Cannot enlarge memory arrays)');
      };
    };
    oom();
    await host.handle(gen(2));
    expect(of('error')[0]).toMatchObject({ id: 2, code: 'out-of-memory' });
    expect(of('error')[0]!.message).toBe(
      'The browser (WebAssembly) ran out of memory while generating (unet: out of memory (Cannot enlarge memory arrays)). The current scene is kept. ' +
        'The model was unloaded to free memory; Generate again to reload it with one stage in memory at a time (slower, needs less memory). ' +
        'If it still runs out, use the int8 export of the model (models/narrow_weights.py --storage int8, README "Real weights"), release the upscaler, or close other tabs and apps.',
    );
    expect(controls.disposals).toBe(1);
    oom();
    await host.handle(gen(3));
    expect(controls.loads).toBe(2);
    expect(of('error')[1]!.message).toMatch(/^The browser \(WebAssembly\) ran out of memory while generating \(.*\), even with one stage of the model in memory at a time\. The current scene is kept\. To make it fit, use the int8 export/);
    controls.onStep = undefined;
    await host.handle(gen(4));
    expect(of('result').map((r) => r.id)).toEqual([4]);
  });

  it('disposes the pipeline and refuses work afterwards', async () => {
    const { host, of, controls } = setup();
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    await host.handle({ type: 'dispose' });
    expect(controls.disposals).toBe(1);
    expect(of('disposed')).toHaveLength(1);
    await host.handle(gen(2));
    expect(of('error')[0]).toMatchObject({ id: 2, code: 'bad-request' });
  });
});
