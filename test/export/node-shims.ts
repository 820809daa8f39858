/**
 * The two browser APIs three's glTF code needs that Node 20 lacks, shimmed just enough for tests:
 * - FileReader.readAsArrayBuffer (GLTFExporter assembles the GLB through it);
 * - createImageBitmap (GLTFLoader decodes embedded textures through it); here it decodes PNGs with
 *   fast-png and returns width/height plus the RGBA pixels for inspection;
 * - self (GLTFLoader reads `self.URL` to make object URLs for embedded images).
 * Installed per test file and removed afterwards so no other test sees them.
 */
import { decodeRgbPng } from '../../src/export/png';

export interface FakeImageBitmap {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8ClampedArray;
  close(): void;
}

class NodeFileReader {
  result: ArrayBuffer | null = null;
  onloadend: (() => void) | null = null;
  readAsArrayBuffer(blob: Blob): void {
    void blob.arrayBuffer().then((buffer) => {
      this.result = buffer;
      this.onloadend?.();
    });
  }
}

async function nodeCreateImageBitmap(blob: Blob): Promise<FakeImageBitmap> {
  const png = decodeRgbPng(new Uint8Array(await blob.arrayBuffer()), 'texture');
  return { width: png.width, height: png.height, rgba: png.rgba, close() {} };
}

export function installBrowserShims(): () => void {
  const g = globalThis as Record<string, unknown>;
  const shims: Record<string, unknown> = { FileReader: NodeFileReader, createImageBitmap: nodeCreateImageBitmap, self: g };
  const added = Object.keys(shims).filter((k) => g[k] === undefined);
  for (const k of added) g[k] = shims[k];
  return () => {
    for (const k of added) delete g[k];
  };
}
