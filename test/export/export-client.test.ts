import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExportFile } from '../../src/export/downloads';
import { makeExportFileOffThread, needsComposite } from '../../src/export/export-client';
import { encodeSceneFiles } from '../../src/export/scene-files';
import { createDetailLayer } from '../../src/panorama/gnomonic';
import { installBrowserShims } from './node-shims';
import { makeMetadata, makePanorama } from './fixtures';

let uninstall: () => void;
beforeAll(() => {
  uninstall = installBrowserShims();
});
afterAll(() => uninstall());

describe('makeExportFileOffThread', () => {
  const panorama = makePanorama(64, 32);
  const metadata = makeMetadata();
  const files = encodeSceneFiles({ width: 64, height: 32, rgb: panorama.rgba, depth: panorama.depth }, metadata);
  const detail = createDetailLayer(128, 64);
  detail.rgba.set([200, 10, 10, 255], (30 * 128 + 70) * 4);
  const src = { panorama, metadata, files, detail };

  it('sends only the exports that composite the detail layer to a worker', () => {
    expect(needsComposite('sharpened-rgb', src)).toBe(true);
    expect(needsComposite('sharpened-depth', src)).toBe(true);
    expect(needsComposite('glb', src)).toBe(true);
    expect(needsComposite('glb', { ...src, detail: null })).toBe(false);
    expect(needsComposite('rgb', src)).toBe(false);
    expect(needsComposite('metadata', src)).toBe(false);
  });

  it('without workers (Node) makes the same file in place', async () => {
    expect(typeof Worker).toBe('undefined');
    const here = await makeExportFileOffThread('sharpened-rgb', src);
    const direct = await makeExportFile('sharpened-rgb', src);
    expect(here.name).toBe(direct.name);
    expect(here.bytes).toEqual(direct.bytes);
  });
});
