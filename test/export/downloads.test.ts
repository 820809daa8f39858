import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_KINDS, exportKindsFor, makeExportFile } from '../../src/export/downloads';
import { encodeSceneFiles } from '../../src/export/scene-files';
import { parseMetadata } from '../../src/export/metadata';
import { readSceneGlb } from '../../src/import/glb-read';
import { installBrowserShims } from './node-shims';
import { makeMetadata, makePanorama } from './fixtures';

let uninstall: () => void;
beforeAll(() => {
  uninstall = installBrowserShims();
});
afterAll(() => uninstall());

describe('makeExportFile', () => {
  const panorama = makePanorama(64, 32);
  const metadata = makeMetadata();
  const files = encodeSceneFiles({ width: 64, height: 32, rgb: panorama.rgba, depth: panorama.depth }, metadata);
  const src = { panorama, metadata, files, depthMapping: { near: 2, far: 40 } };
  const base = 'ldm3d-2026-05-04-1234567-a-reading-room-with-tall-windows-golden';

  it('offers the four formats with names, types and the right bytes', async () => {
    expect(exportKindsFor(false).map((k) => k.kind)).toEqual(['rgb', 'depth', 'glb', 'metadata']);
    // The sharpened files are offered only with a detail layer (sharpened.test.ts).
    expect(EXPORT_KINDS.filter((k) => k.needsDetail).map((k) => k.kind)).toEqual(['sharpened-rgb', 'sharpened-depth']);
    const rgb = await makeExportFile('rgb', src);
    expect(rgb).toMatchObject({ name: `${base}-rgb.png`, mimeType: 'image/png' });
    expect(rgb.bytes).toBe(files.rgbPng);
    const depth = await makeExportFile('depth', src);
    expect(depth).toMatchObject({ name: `${base}-depth16.png`, mimeType: 'image/png' });
    expect(depth.bytes).toBe(files.depthPng);

    // JSON and GLB record the mapping in effect when exporting.
    const json = await makeExportFile('metadata', src);
    expect(json).toMatchObject({ name: `${base}.metadata.json`, mimeType: 'application/json' });
    expect(parseMetadata(new TextDecoder().decode(json.bytes))).toEqual({ ...metadata, depthMapping: { near: 2, far: 40 } });
    const glb = await makeExportFile('glb', src);
    expect(glb).toMatchObject({ name: `${base}.glb`, mimeType: 'model/gltf-binary' });
    expect(readSceneGlb(glb.bytes).metadata.depthMapping).toEqual({ near: 2, far: 40 });
  });
});
