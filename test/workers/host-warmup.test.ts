/**
 * The worker host warms a freshly loaded pipeline up (HostedPipeline.warmUp) and a Generate cancels
 * the warm-up and waits for it to stop before it starts. The pipeline is the fake one plus a warm-up
 * that runs until it is aborted, or finishes after a few ticks.
 */
import { describe, expect, it } from 'vitest';
import { PipelineWorkerHost } from '../../src/workers/host';
import type { HostedPipeline, PipelineLoader } from '../../src/workers/hosted-pipeline';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import type { GenerateRequest, WorkerResponse } from '../../src/workers/protocol';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { fakeControls, fakeLoader } from './fake-pipeline';

interface WarmLog {
  events: string[];
  /** Ticks a warm-up takes before it finishes on its own; Infinity: only an abort ends it. */
  ticks: number;
}

function setup(log: WarmLog) {
  const files = standardFiles();
  const server = new FakeServer(files, makeManifest(files));
  const controls = fakeControls();
  const inner = fakeLoader(controls);
  const loader: PipelineLoader = async (source, backend, hooks) => {
    const p = await inner(source, backend, hooks);
    const warm: HostedPipeline = {
      backend: p.backend,
      notices: p.notices,
      generate: (params, step) => {
        log.events.push('generate');
        return p.generate(params, step);
      },
      async warmUp(signal) {
        log.events.push('warm-up started');
        for (let i = 0; i < log.ticks; i++) {
          await new Promise((r) => setTimeout(r, 1));
          if (signal.aborted) {
            log.events.push('warm-up cancelled');
            throw new DOMException('cancelled', 'AbortError');
          }
        }
        log.events.push('warm-up done');
      },
      dispose: () => p.dispose(),
    };
    return warm;
  };
  const out: WorkerResponse[] = [];
  const host = new PipelineWorkerHost((m) => out.push(m), {
    loadPipeline: loader,
    store: { fetch: server.fetch, storage: new MemoryModelStorage(), retries: 0, chunkBytes: 4096 },
    progressIntervalMs: 0,
  });
  return { host, out };
}

const gen = (id: number): GenerateRequest => ({ type: 'generate', id, prompt: 'a cabin', negativePrompt: '', steps: 2, guidance: 7, scheduler: 'ddim', seed: 1 });

describe('PipelineWorkerHost warm-up', () => {
  it('starts after a load; a Generate cancels it and runs once it has stopped', async () => {
    const log: WarmLog = { events: [], ticks: Infinity };
    const { host, out } = setup(log);
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    expect(out.some((m) => m.type === 'loaded')).toBe(true);
    expect(log.events).toEqual(['warm-up started']);
    await new Promise((r) => setTimeout(r, 5));
    await host.handle(gen(2));
    expect(log.events).toEqual(['warm-up started', 'warm-up cancelled', 'generate']);
    expect(out.filter((m) => m.type === 'result')).toHaveLength(1);
    expect(out.filter((m) => m.type === 'error')).toEqual([]);
  });

  it('runs once per loaded pipeline (not again on a repeated load) and a finished warm-up is not cancelled', async () => {
    const log: WarmLog = { events: [], ticks: 2 };
    const { host } = setup(log);
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    await new Promise((r) => setTimeout(r, 30));
    await host.handle({ type: 'load', id: 2, baseUrl: BASE, backend: 'auto' });
    await host.handle(gen(3));
    expect(log.events).toEqual(['warm-up started', 'warm-up done', 'generate']);
  });

  it('dispose stops a running warm-up', async () => {
    const log: WarmLog = { events: [], ticks: Infinity };
    const { host, out } = setup(log);
    await host.handle({ type: 'load', id: 1, baseUrl: BASE, backend: 'auto' });
    await host.handle({ type: 'dispose' });
    expect(log.events).toEqual(['warm-up started', 'warm-up cancelled']);
    expect(out.at(-1)).toEqual({ type: 'disposed' });
  });
});
