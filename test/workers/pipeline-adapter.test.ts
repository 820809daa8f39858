// The adapter between the worker host and Ldm3dPipeline, on the exported tiny models (wasm).
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderSource } from '../../src/node/folder-source';
import { loadHostedPipeline } from '../../src/workers/pipeline-adapter';

const DIR = resolve(import.meta.dirname, '../../models/tiny/ldm3d-pano');

describe('loadHostedPipeline', () => {
  it("loads one stage at a time (the 'staged' memory policy) when the host asks for low memory after an out-of-memory", async () => {
    const source = await folderSource(DIR, { verify: false });
    const signal = new AbortController().signal;
    // The tiny model is small enough that the default policy keeps every stage loaded.
    const usual = await loadHostedPipeline(source, 'wasm', { signal });
    expect(usual.runtimeSummary).toMatch(/all stages kept loaded/);
    await usual.dispose();
    const low = await loadHostedPipeline(source, 'wasm', { signal, lowMemory: true });
    expect(low.runtimeSummary).toMatch(/one stage at a time/);
    await low.dispose();
  });
});
