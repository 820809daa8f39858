import type { WorkerLike } from '../../src/workers/client';
import { PipelineWorkerHost } from '../../src/workers/host';
import type { MemoryModelStorage } from '../../src/model/model-store-storage';
import type { PipelineLoader } from '../../src/workers/hosted-pipeline';
import type { WorkerRequest, WorkerResponse } from '../../src/workers/protocol';
import type { FakeServer } from '../model/model-store-fake-server';
import { fakeLoader, type FakeControls } from './fake-pipeline';

/**
 * A Worker stand-in: messages are structured-cloned (with transfer) both ways and delivered as
 * tasks, like a real worker's; the host behind it is the real one.
 */
export class InProcessWorker implements WorkerLike {
  readonly listeners = new Map<string, ((e: never) => void)[]>();
  terminated = false;
  readonly host: PipelineWorkerHost;
  /** Requests seen, for assertions. */
  readonly requests: WorkerRequest[] = [];
  /** Stop answering (a worker stuck in a GPU call). */
  hung = false;

  /** `loadPipeline`: the fake pipeline unless a test brings another loader (e.g. one on a real GPU). */
  constructor(server: FakeServer, controls: FakeControls, storage: MemoryModelStorage, loadPipeline: PipelineLoader = fakeLoader(controls)) {
    this.host = new PipelineWorkerHost(
      (m, transfer) => {
        if (this.terminated || this.hung) return;
        const data = structuredClone(m, { transfer });
        setTimeout(() => this.emit('message', { data } as MessageEvent<WorkerResponse>), 0);
      },
      { loadPipeline, store: { fetch: server.fetch, storage, retries: 0 }, progressIntervalMs: 0 },
    );
  }
  postMessage(message: WorkerRequest): void {
    if (this.terminated) return;
    this.requests.push(message);
    const copy = structuredClone(message);
    setTimeout(() => void this.host.handle(copy), 0);
  }
  addEventListener(type: string, listener: (e: never) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  terminate(): void {
    this.terminated = true;
  }
  emit(type: string, e: unknown): void {
    for (const l of this.listeners.get(type) ?? []) (l as (e: unknown) => void)(e);
  }
  /** What the browser does when the worker throws an uncaught error. */
  crash(message: string): void {
    this.emit('error', { message, preventDefault() {} });
  }
}

