/**
 * Export jobs off the main thread: compositing a sharpened scene (4096 × 2048) and encoding its
 * PNGs and GLB takes seconds of CPU, which in the page would freeze the view (and the headset's
 * frames). One job per worker; export-client.ts starts it and terminates it after the answer.
 */
import { makeExportFile } from './downloads';
import type { ExportRequest, ExportResponse } from './export-client';

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<ExportRequest>) => void) | null;
  postMessage(message: ExportResponse, transfer?: Transferable[]): void;
};

scope.onmessage = (e) => {
  const { kind, src } = e.data;
  makeExportFile(kind, src).then(
    (file) => scope.postMessage({ ok: true, file }, [file.bytes.buffer as ArrayBuffer]),
    (err: unknown) =>
      scope.postMessage({
        ok: false,
        name: err instanceof Error ? err.name : 'Error',
        message: err instanceof Error ? err.message : String(err),
      }),
  );
};
