/**
 * `makeExportFile` for the UI: files that need the sharpened composite (the sharpened PNGs, and
 * the GLB of a sharpened scene) are made in a worker (export.worker.ts), so the page keeps
 * drawing while seconds of compositing and PNG encoding run; everything else is made in place, as
 * it is only a copy of bytes already encoded. Where there are no workers (Node) it all runs here.
 */
import { makeExportFile, type ExportFile, type ExportKind, type ExportSource } from './downloads';

export interface ExportRequest {
  readonly kind: ExportKind;
  readonly src: ExportSource;
}

export type ExportResponse =
  | { readonly ok: true; readonly file: ExportFile }
  | { readonly ok: false; readonly name: string; readonly message: string };

/** True when this export composites the detail layer (the slow part). */
export function needsComposite(kind: ExportKind, src: ExportSource): boolean {
  return (src.detail ?? null) !== null && (kind === 'sharpened-rgb' || kind === 'sharpened-depth' || kind === 'glb');
}

export function makeExportFileOffThread(kind: ExportKind, src: ExportSource): Promise<ExportFile> {
  if (!needsComposite(kind, src) || typeof Worker === 'undefined') return makeExportFile(kind, src);
  // Vite finds this exact form and bundles the worker with its own chunk.
  const worker = new Worker(new URL('./export.worker.ts', import.meta.url), { type: 'module', name: 'ldm3d-export' });
  return new Promise<ExportFile>((resolve, reject) => {
    worker.addEventListener('message', (e: MessageEvent<ExportResponse>) => {
      worker.terminate();
      if (e.data.ok) resolve(e.data.file);
      else {
        const error = new Error(e.data.message);
        error.name = e.data.name;
        reject(error);
      }
    });
    worker.addEventListener('error', (e: ErrorEvent) => {
      worker.terminate();
      reject(new Error(`Export failed in its worker: ${e.message || 'the worker could not start'}.`));
    });
    // The layer is copied (structured clone, ~64 MB at 4096 × 2048, tens of milliseconds), not
    // transferred: the viewer keeps drawing it and further sharpens write into it.
    const request: ExportRequest = { kind, src };
    worker.postMessage(request);
  });
}
