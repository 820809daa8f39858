// The worker host with the real pipeline (src/pipeline on onnxruntime-web's wasm backend) and the
// real model store over the exported tiny models: what the browser worker runs, minus the Worker.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { toPanorama } from '../../src/pipeline/postprocess';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import { PipelineWorkerHost } from '../../src/workers/host';
import { loadHostedPipeline } from '../../src/workers/pipeline-adapter';
import type { GenerateRequest, WorkerResponse } from '../../src/workers/protocol';

const DIR = resolve(import.meta.dirname, '../../models/tiny/ldm3d-pano');
const BASE = 'http://127.0.0.1:5302/models/tiny/ldm3d-pano/';

const result0 = <T,>(xs: T[]): T => {
  if (xs.length !== 1) throw new Error(`expected one result, got ${xs.length}`);
  return xs[0]!;
};

const diskFetch: typeof fetch = async (input) => {
  try {
    return new Response(await readFile(resolve(DIR, String(input).slice(BASE.length))));
  } catch {
    return new Response('not found', { status: 404 });
  }
};

describe('worker host with the real pipeline (wasm, tiny models)', () => {
  const out: WorkerResponse[] = [];
  const host = new PipelineWorkerHost((m) => out.push(m), {
    loadPipeline: loadHostedPipeline,
    store: { fetch: diskFetch, storage: new MemoryModelStorage(), retries: 0 },
  });
  const of = <T extends WorkerResponse['type']>(type: T) => out.filter((m) => m.type === type) as Extract<WorkerResponse, { type: T }>[];
  afterAll(() => host.handle({ type: 'dispose' }));

  const gen = (id: number, over: Partial<GenerateRequest> = {}): GenerateRequest => ({
    type: 'generate',
    id,
    prompt: 'a red barn in a snowy field',
    negativePrompt: 'blurry',
    steps: 3,
    guidance: 7,
    scheduler: 'ddim',
    seed: 7,
    ...over,
  });

  it('loads with download and session progress, then generates what the pipeline itself generates', async () => {
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'wasm' });
    expect(of('error')).toEqual([]);
    const [loaded] = of('loaded');
    expect(loaded).toMatchObject({ backend: 'wasm', testWeights: true, summary: { modelId: 'tiny-random/ldm3d-pano', width: 128, height: 64 } });
    // The tiny export has no DeepCache graphs, and the real adapter says so.
    expect(loaded!.supportsDeepCache).toBe(false);
    const stages = of('load-progress').filter((p) => p.phase === 'creating-sessions' && p.file !== '');
    expect(stages.map((p) => p.file)).toEqual(['tokenizer', 'text_encoder', 'unet', 'vae_decoder', 'kernels']);

    await host.handle(gen(2));
    expect(of('error')).toEqual([]);
    const steps = of('progress').filter((p) => p.id === 2);
    expect(steps.map((p) => p.step)).toEqual([0, 1, 2, 3]);
    const tokens = steps[0]!.tokens!;
    expect(tokens.prompt.max).toBe(77);
    expect(tokens.prompt.count).toBe(result0(of('result')).metadata.tokens.prompt.count);
    // The preview is the latent-resolution picture: 1/8 of 128 × 64.
    expect(steps[1]!.preview).toMatchObject({ width: 16, height: 8 });
    expect(steps[1]!.preview!.rgba).toHaveLength(16 * 8 * 4);
    const [result] = of('result');
    expect(result).toMatchObject({ id: 2, width: 128, height: 64 });
    expect(result!.metadata).toMatchObject({ prompt: 'a red barn in a snowy field', negativePrompt: 'blurry', seed: 7, backend: 'wasm', steps: 3 });

    // The same request straight to the pipeline on the same files gives the same pixels.
    const direct = await Ldm3dPipeline.load(await folderSource(DIR, { verify: false }), { backend: 'wasm' });
    try {
      const ref = await direct.generate({ prompt: 'a red barn in a snowy field', negativePrompt: 'blurry', steps: 3, guidance: 7, scheduler: 'ddim', seed: 7 });
      expect(result!.rgba).toEqual(toPanorama(ref).rgba);
      expect(result!.depth16).toEqual(ref.depth16);
    } finally {
      await direct.dispose();
    }
  });

  it('reports an over-long prompt before the first step, cancels mid-run and stays usable', async () => {
    out.length = 0;
    const long = Array.from({ length: 100 }, (_, i) => `word${i % 10}`).join(' ');
    let cancelSent = false;
    const run = host.handle(gen(3, { prompt: long, steps: 200 }));
    // Cancel as soon as two steps are reported (the host answers messages between steps).
    await new Promise<void>((done) => {
      const t = setInterval(() => {
        if (!cancelSent && of('progress').some((p) => p.id === 3 && p.step >= 2)) {
          cancelSent = true;
          void host.handle({ type: 'cancel', id: 3 });
        }
        if (cancelSent) {
          clearInterval(t);
          done();
        }
      }, 1);
    });
    await run;
    const first = of('progress').find((p) => p.id === 3)!;
    expect(first.step).toBe(0);
    expect(first.tokens!.prompt.count).toBeGreaterThan(77);
    expect(of('cancelled')).toEqual([{ type: 'cancelled', id: 3 }]);
    expect(of('progress').filter((p) => p.id === 3).length).toBeLessThan(50);
    await host.handle(gen(4, { steps: 2, scheduler: 'euler' }));
    expect(of('result').map((r) => r.id)).toEqual([4]);
  });
});
