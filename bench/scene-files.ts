/**
 * Cost of keeping and exporting one 1024 × 512 scene: PNG encode/decode, thumbnail, GLB export,
 * and a gallery-db save + get (fake-indexeddb in Node, so the IndexedDB figure is only the
 * structured-clone + bookkeeping part, not a browser's disk). Two images: the synthetic room (flat
 * colours, compresses well) and noise (worst case for PNG size).
 *
 *   npx tsx bench/scene-files.ts
 */
import { IDBFactory } from 'fake-indexeddb';
import { renderSyntheticPanorama } from '../src/panorama/synthetic';
import { encodeSceneFiles } from '../src/export/scene-files';
import { decodeDepthPng, decodeRgbPng } from '../src/export/png';
import { exportSceneGlb } from '../src/export/glb';
import { SavedSceneStore } from '../src/storage/gallery-db';
import type { SceneMetadata } from '../src/export/metadata';
import type { RGBDPanorama } from '../src/panorama/types';

// GLTFExporter assembles the GLB through FileReader, which Node lacks.
(globalThis as Record<string, unknown>).FileReader ??= class {
  result: ArrayBuffer | null = null;
  onloadend: (() => void) | null = null;
  readAsArrayBuffer(blob: Blob) {
    void blob.arrayBuffer().then((b) => {
      this.result = b;
      this.onloadend?.();
    });
  }
};

async function time<T>(label: string, fn: () => T | Promise<T>, runs = 5): Promise<T> {
  let result!: T;
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    result = await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(`  ${label.padEnd(34)} median ${ms[runs >> 1].toFixed(1).padStart(7)} ms  (min ${ms[0].toFixed(1)})`);
  return result;
}

function noise(width: number, height: number): RGBDPanorama {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  const rgba = new Uint8ClampedArray(width * height * 4).map((_, i) => ((i & 3) === 3 ? 255 : rnd() * 256));
  const depth = new Float32Array(width * height).map(() => rnd());
  return { width, height, rgba, depth };
}

const metadata: SceneMetadata = {
  prompt: 'bench',
  negativePrompt: '',
  settings: { steps: 50, guidance: 7, scheduler: 'ddim', seed: 1 },
  modelId: 'bench',
  testWeights: true,
  createdAt: new Date().toISOString(),
  width: 1024,
  height: 512,
  depthMapping: { near: 1, far: 20 },
};

for (const [name, panorama] of [
  ['synthetic room', renderSyntheticPanorama(1024, 512).panorama],
  ['noise (worst case)', noise(1024, 512)],
] as const) {
  console.log(`${name}, 1024 × 512:`);
  const images = { width: 1024, height: 512, rgb: panorama.rgba, depth: panorama.depth };
  const files = await time('encode RGB + depth16 + thumbnail', () => encodeSceneFiles(images, metadata));
  console.log(
    `  sizes: rgb ${(files.rgbPng.length / 1e3).toFixed(0)} kB, depth16 ${(files.depthPng.length / 1e3).toFixed(0)} kB, thumbnail ${(files.thumbnail.bytes.length / 1e3).toFixed(1)} kB`,
  );
  await time('decode RGB PNG', () => decodeRgbPng(files.rgbPng));
  await time('decode depth16 PNG', () => decodeDepthPng(files.depthPng));
  const glb = await time('GLB export (default density)', () =>
    exportSceneGlb({ panorama, depthMapping: metadata.depthMapping, ...files, metadata }),
  );
  console.log(
    `  GLB: ${(glb.glb.byteLength / 1e6).toFixed(2)} MB, ${glb.vertexCount} vertices, ${glb.triangleCount} triangles (${glb.removedTriangles} edge triangles left out)`,
  );
  const store = await SavedSceneStore.open(new IDBFactory());
  let last = '';
  await time('store.save (fake-indexeddb)', async () => (last = (await store.save({ ...metadata, ...files })).id));
  await time('store.get (fake-indexeddb)', () => store.get(last));
  await time('store.list, 5 scenes', () => store.list());
  store.close();
}
