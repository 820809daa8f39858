// The worker's sharpen job through PipelineWorkerHost with a fake upscaler (the real one is
// parity-tested in test/pipeline): models load on the first sharpen only and are reused, only
// the touched region comes back (transferred, around the gaze), cancel and unload work, bad
// requests are named.
import { describe, expect, it } from 'vitest';
import { PipelineWorkerHost } from '../../src/workers/host';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import type { SharpenRequest, WorkerResponse } from '../../src/workers/protocol';
import type { HostedUpscaler, UpscalerLoader } from '../../src/workers/sr-host';
import type { SrOptions, SrResult } from '../../src/pipeline/sr/pipeline';
import type { Manifest } from '../../src/model/manifest';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { fakeControls, fakeLoader } from './fake-pipeline';

const SIZE = 16;

function setup() {
  const files = standardFiles();
  const manifest = makeManifest(files);
  const server = new FakeServer(files, manifest);
  const out: { m: WorkerResponse; transfer: Transferable[] }[] = [];
  const stats = { loads: 0, disposed: 0, upscales: 0 };
  const loadUpscaler: UpscalerLoader = async (source, _backend, hooks) => {
    stats.loads++;
    hooks.onProgress?.('unet', 1, 1);
    const m = { ...(source.manifest as Manifest), image: { height: SIZE, width: SIZE }, model_id: 'test/sr' } as Manifest;
    const up: HostedUpscaler = {
      manifest: m,
      backend: 'wasm',
      async upscale(o: SrOptions): Promise<SrResult> {
        stats.upscales++;
        const total = o.steps ?? 1;
        for (let i = 0; i < total; i++) {
          if (o.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
          await o.onProgress?.({ step: i + 1, total, timestep: 0, elapsedMs: 0, etaMs: 0 });
        }
        if (o.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
        // The identity "upscaler": the crop comes back as it went in.
        return { rgbFloat: o.rgb.slice(), depth: o.depth.slice() } as unknown as SrResult;
      },
      dispose: async () => {
        stats.disposed++;
      },
    };
    return up;
  };
  const host = new PipelineWorkerHost((m, transfer) => out.push({ m, transfer }), {
    loadPipeline: fakeLoader(fakeControls()),
    loadUpscaler,
    store: { fetch: server.fetch, storage: new MemoryModelStorage(), retries: 0, chunkBytes: 4096 },
    progressIntervalMs: 0,
  });
  const of = <T extends WorkerResponse['type']>(type: T) =>
    out.filter((o) => o.m.type === type).map((o) => o.m as Extract<WorkerResponse, { type: T }>);
  return { host, out, of, stats };
}

function sharpenReq(id: number, over: Partial<SharpenRequest> = {}): SharpenRequest {
  const width = 128;
  const height = 64;
  const rgba = new Uint8ClampedArray(width * height * 4).fill(200);
  const depth = new Float32Array(width * height).fill(0.5);
  return { type: 'sharpen', id, baseUrl: BASE, backend: 'wasm', width, height, rgba, depth, gaze: { x: 0, y: 0, z: -1 }, steps: 2, seed: 1, layerWidth: 512, ...over };
}

describe('sharpen in the worker host', () => {
  it('a stored upscaler file damaged on disk is downloaded again on the next page, and the sharpen result says so once', async () => {
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const storage = new MemoryModelStorage();
    const page = () => {
      const out: WorkerResponse[] = [];
      const loadUpscaler: UpscalerLoader = async (source) => {
        await source.read('unet/model.onnx'); // as the real loader reads its graphs
        const m = { ...(source.manifest as Manifest), image: { height: SIZE, width: SIZE }, model_id: 'test/sr' } as Manifest;
        return {
          manifest: m,
          backend: 'wasm',
          upscale: async (o: SrOptions) => ({ rgbFloat: o.rgb.slice(), depth: o.depth.slice() }) as unknown as SrResult,
          dispose: async () => undefined,
        };
      };
      const host = new PipelineWorkerHost((m) => out.push(m), {
        loadPipeline: fakeLoader(fakeControls()),
        loadUpscaler,
        store: { fetch: server.fetch, storage, retries: 0, chunkBytes: 512 },
        progressIntervalMs: 0,
      });
      const results = () => out.filter((m): m is Extract<WorkerResponse, { type: 'sharpen-result' }> => m.type === 'sharpen-result');
      return { host, out, results };
    };
    const first = page();
    await first.host.handle(sharpenReq(1));
    expect(first.results()[0]!.notices).toBeUndefined();
    storage.corrupt(BASE + 'unet/model.onnx', 700);
    const sent = server.bodyBytesSent;

    const second = page();
    await second.host.handle(sharpenReq(1));
    expect(second.out.filter((m) => m.type === 'error')).toEqual([]);
    expect(second.results()[0]!.notices).toEqual([
      'unet/model.onnx: the copy stored in this browser was damaged (chunk 2 of 4 (bytes 512–1023) does not match the sha256 recorded when it was stored), so it was removed and downloaded again.',
    ]);
    expect(server.bodyBytesSent - sent).toBe(2000);
    // Said once: the next sharpen with the loaded upscaler has nothing to add.
    await second.host.handle(sharpenReq(2));
    expect(second.results()[1]!.notices).toBeUndefined();
  });

  it('loads the upscaler on the first sharpen, reuses it, returns only the region in view, unloads', async () => {
    const { host, out, of, stats } = setup();
    await host.handle(sharpenReq(1));
    expect(of('error')).toEqual([]);
    const progress = of('sharpen-progress');
    expect(progress.some((p) => p.phase === 'download')).toBe(true);
    expect(progress.some((p) => p.phase === 'sessions')).toBe(true);
    expect(progress.filter((p) => p.phase === 'step').map((p) => p.done)).toEqual([1, 2]);
    const [res] = of('sharpen-result');
    expect(res).toMatchObject({ id: 1, layerWidth: 512, layerHeight: 256, sr: { modelId: 'test/sr', testWeights: true, backend: 'wasm' } });
    const rows = res!.region.y1 - res!.region.y0 + 1;
    expect(res!.rgba.length).toBe(res!.region.count * rows * 4);
    expect(res!.region.count).toBeLessThan(512 / 4);
    // Straight ahead = the centre column and the equator.
    const u = (res!.region.x0 + res!.region.count / 2) / 512;
    expect(u).toBeCloseTo(0.5, 1);
    expect(res!.region.y0).toBeLessThan(128);
    expect(res!.region.y1).toBeGreaterThan(128);
    // Identity SR on a uniform panorama: colour 200 where weight is full; depth fitted to 0.5.
    let full = 0;
    for (let p = 0; p < res!.depth.length; p++) {
      if (res!.rgba[p * 4 + 3] === 255) {
        full++;
        expect(Math.abs(res!.rgba[p * 4] - 200)).toBeLessThanOrEqual(1);
        expect(res!.depth[p]).toBeCloseTo(0.5, 4);
      }
    }
    expect(full).toBeGreaterThan(100);
    expect(out.find((o) => o.m.type === 'sharpen-result')!.transfer).toHaveLength(2);

    await host.handle(sharpenReq(2, { gaze: { x: 0, y: 0, z: 1 } }));
    expect(stats.loads).toBe(1);
    const second = of('sharpen-result')[1]!;
    // Behind: the region straddles the seam (u = 0 = 1).
    expect(second.region.x0 + second.region.count).toBeGreaterThan(512);

    await host.handle({ type: 'unload-sr', id: 3 });
    expect(of('sr-unloaded')).toEqual([{ type: 'sr-unloaded', id: 3 }]);
    expect(stats.disposed).toBe(1);
    await host.handle(sharpenReq(4));
    expect(stats.loads).toBe(2);
  });

  it('cancels between steps, and names a bad request', async () => {
    const { host, of } = setup();
    const running = host.handle(sharpenReq(1, { steps: 50 }));
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (of('sharpen-progress').some((p) => p.phase === 'step')) {
          clearInterval(t);
          resolve();
        }
      }, 1);
    });
    await host.handle({ type: 'cancel', id: 1 });
    await running;
    expect(of('cancelled')).toEqual([{ type: 'cancelled', id: 1 }]);
    expect(of('sharpen-result')).toEqual([]);
    expect(of('sharpen-progress').filter((p) => p.phase === 'step').length).toBeLessThan(50);

    await host.handle(sharpenReq(2, { gaze: { x: 0, y: 0, z: 0 } }));
    await host.handle(sharpenReq(3, { width: 100 }));
    const errors = of('error');
    expect(errors[0]).toMatchObject({ id: 2, request: 'sharpen', code: 'bad-request', message: 'the view direction is not a direction' });
    expect(errors[1]).toMatchObject({ id: 3, request: 'sharpen', code: 'bad-request' });
    expect(errors[1]!.message).toMatch(/2:1/);
  });
});
