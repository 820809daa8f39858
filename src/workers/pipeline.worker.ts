/// <reference lib="webworker" />
/**
 * The pipeline worker: hosts the LDM3D pipeline off the main thread so the render loop (and the
 * XR frame loop) never waits on tokenizing, session creation or a UNet step. All logic is in
 * host.ts; this file only connects it to the worker global.
 */
import { PipelineWorkerHost } from './host';
import { loadHostedPipeline, loadHostedUpscaler } from './pipeline-adapter';
import type { WorkerRequest } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const host = new PipelineWorkerHost((message, transfer) => self.postMessage(message, transfer), {
  loadPipeline: loadHostedPipeline,
  loadUpscaler: loadHostedUpscaler,
});

self.addEventListener('message', (e: MessageEvent<WorkerRequest>) => {
  const req = e.data;
  host.handle(req).then(
    () => {
      if (req.type === 'dispose') self.close();
    },
    (e: unknown) => {
      // A bug in the host (it answers every expected failure itself): still answer the request,
      // so the caller's promise settles with the reason instead of waiting forever.
      const message = e instanceof Error ? e.message : String(e);
      const id = 'id' in req ? req.id : undefined;
      self.postMessage({ type: 'error', id, request: req.type, code: 'generation-failed', message });
    },
  );
});
