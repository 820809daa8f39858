/// <reference lib="webworker" />
/**
 * The pipeline worker: hosts the LDM3D pipeline off the main thread so the render loop (and the
 * XR frame loop) never waits on tokenizing, session creation or a UNet step. All logic is in
 * host.ts; this file only connects it to the worker global.
 */
import { PipelineWorkerHost } from './host';
import { loadHostedPipeline } from './pipeline-adapter';
import type { WorkerRequest } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const host = new PipelineWorkerHost((message, transfer) => self.postMessage(message, transfer), {
  loadPipeline: loadHostedPipeline,
});

self.addEventListener('message', (e: MessageEvent<WorkerRequest>) => {
  const req = e.data;
  void host.handle(req).then(() => {
    if (req.type === 'dispose') self.close();
  });
});

// A rejection nobody awaited is a bug, but it must reach the client as an error it can show,
// not vanish into the worker's console while the UI waits forever.
self.addEventListener('unhandledrejection', (e: PromiseRejectionEvent) => {
  const reason = e.reason instanceof Error ? e.reason.message : String(e.reason);
  self.postMessage({ type: 'error', request: 'generate', code: 'worker-crashed', message: reason });
});
