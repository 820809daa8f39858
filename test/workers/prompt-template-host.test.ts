// Issue 14 item 10: a model whose manifest has a prompt template ("360 view of {prompt}", as the real
// LDM3D-pano export writes it) gets the user's words inside it, through the worker host with the
// real pipeline (wasm) on the tiny model's files. The tiny export itself has no template (its
// goldens stay the bare prompt's), so this test serves a variant of its manifest.json with the
// field added; the graphs and their hashes are the tiny model's own.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { toPanorama } from '../../src/pipeline/postprocess';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import { PipelineWorkerHost } from '../../src/workers/host';
import { loadHostedPipeline } from '../../src/workers/pipeline-adapter';
import type { GenerateRequest, WorkerResponse } from '../../src/workers/protocol';

const DIR = resolve(import.meta.dirname, '../../models/tiny/ldm3d-pano');
const BASE = 'http://127.0.0.1:5303/models/tiny/ldm3d-pano-templated/';
const TEMPLATE = '360 view of {prompt}';
const WORDS = 'a red barn in a snowy field';
const SENT = `360 view of ${WORDS}`;

const templatedFetch: typeof fetch = async (input) => {
  const path = String(input).slice(BASE.length);
  try {
    const bytes = await readFile(resolve(DIR, path));
    if (path !== 'manifest.json') return new Response(bytes);
    const manifest = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    return new Response(JSON.stringify({ ...manifest, prompt_template: TEMPLATE }));
  } catch {
    return new Response('not found', { status: 404 });
  }
};

describe('prompt template through the worker host (real pipeline, wasm, tiny model files)', () => {
  const out: WorkerResponse[] = [];
  const host = new PipelineWorkerHost((m) => out.push(m), {
    loadPipeline: loadHostedPipeline,
    store: { fetch: templatedFetch, storage: new MemoryModelStorage(), retries: 0 },
  });
  const of = <T extends WorkerResponse['type']>(type: T) => out.filter((m) => m.type === type) as Extract<WorkerResponse, { type: T }>[];
  const resultOf = (id: number) => {
    const r = of('result').filter((m) => m.id === id);
    expect(of('error')).toEqual([]);
    expect(r).toHaveLength(1);
    return r[0]!;
  };
  const gen = (id: number, over: Partial<GenerateRequest> = {}): GenerateRequest => ({
    type: 'generate', id, prompt: WORDS, negativePrompt: '', steps: 2, guidance: 7, scheduler: 'ddim', seed: 11, ...over,
  });
  // The plain tiny model (no template): what the text encoder makes of exactly the given text.
  let direct: Ldm3dPipeline;
  beforeAll(async () => {
    direct = await Ldm3dPipeline.load(await folderSource(DIR, { verify: false }), { backend: 'wasm' });
  });
  afterAll(async () => {
    await host.handle({ type: 'dispose' });
    await direct?.dispose();
  });
  const directRgba = async (prompt: string) =>
    toPanorama(await direct.generate({ prompt, negativePrompt: '', steps: 2, guidance: 7, scheduler: 'ddim', seed: 11 })).rgba;

  it('plans and loads with the template, so the panels can show it before and after loading', async () => {
    await host.handle({ type: 'plan', id: 1, baseUrl: BASE });
    expect(of('planned')[0]!.plan.promptTemplate).toBe(TEMPLATE);
    await host.handle({ type: 'load', id: 2, baseUrl: BASE, backend: 'wasm' });
    expect(of('error')).toEqual([]);
    expect(of('loaded')[0]!.summary.promptTemplate).toBe(TEMPLATE);
  });

  it("sends '360 view of …' by default: the metadata has both texts, the tokens and the pixels are the prefixed prompt's", async () => {
    await host.handle(gen(3));
    const r = resultOf(3);
    expect(r.metadata).toMatchObject({ prompt: WORDS, sentPrompt: SENT, promptTemplate: true });
    // The count the over-long check uses is the sent prompt's (3 more words), reported before step 1 too.
    expect(r.metadata.tokens.prompt.count).toBe(direct.tokenize(SENT).count);
    expect(r.metadata.tokens.prompt.count).toBeGreaterThan(direct.tokenize(WORDS).count);
    expect(of('progress').find((p) => p.id === 3 && p.tokens)!.tokens!.prompt.count).toBe(direct.tokenize(SENT).count);
    // What the text encoder read: the pixels are the prefixed prompt's, not the bare words'.
    const prefixed = await directRgba(SENT);
    expect(r.rgba).toEqual(prefixed);
    expect(r.rgba).not.toEqual(await directRgba(WORDS));
  });

  it('the setting turned off sends the words as they are', async () => {
    await host.handle(gen(4, { promptTemplate: false }));
    const r = resultOf(4);
    expect(r.metadata).toMatchObject({ prompt: WORDS, sentPrompt: WORDS, promptTemplate: false });
    expect(r.metadata.tokens.prompt.count).toBe(direct.tokenize(WORDS).count);
    expect(r.rgba).toEqual(await directRgba(WORDS));
  });

  it("an empty prompt stays unconditional ('' is not wrapped)", async () => {
    await host.handle(gen(5, { prompt: '' }));
    expect(resultOf(5).metadata).toMatchObject({ prompt: '', sentPrompt: '' });
  });

  it('refuses a promptTemplate that is not a boolean', async () => {
    await host.handle(gen(6, { promptTemplate: 'yes' as unknown as boolean }));
    expect(of('error').find((e) => e.id === 6)!.message).toMatch(/promptTemplate must be true or false/);
  });
});
