// Issue 13 item 6: two tabs on the same scene database. Each tab has its own SavedSceneStore (its
// own IDB connection); here two stores over one fake-indexeddb factory play the two tabs, and
// Node's BroadcastChannel (Node >= 18) carries the change messages between them exactly as the
// browser's does between tabs of one origin.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { SavedSceneStore, type NewScene, type SceneChange } from '../../src/storage/gallery-db';
import { createCurrentSceneStore } from '../../src/storage/shown-scene-files';
import {
  deletedSceneMessage,
  saveDetailPatch,
  showSavedScene,
  watchDeletedScenes,
  type SceneServices,
} from '../../src/storage/save-then-show';
import { encodeDepth16Png, encodeRgbPng, encodeThumbnailPng } from '../../src/export/png';
import { encodeDetailPatch } from '../../src/storage/detail-patches';
import { sharpenedPatch } from './detail-fixtures';

function makeScene(prompt: string): NewScene {
  const w = 8;
  const h = 4;
  const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 7) & 255);
  const depth16 = new Uint16Array(w * h).map((_, i) => (i * 2047) & 0xffff);
  return {
    prompt,
    negativePrompt: '',
    settings: { steps: 4, guidance: 7, scheduler: 'ddim', seed: 1 },
    modelId: 'test/ldm3d-pano-tiny',
    testWeights: true,
    createdAt: '2026-06-01T00:00:00.000Z',
    width: w,
    height: h,
    depthMapping: { near: 1, far: 20 },
    rgbPng: encodeRgbPng(w, h, rgb),
    depthPng: encodeDepth16Png(w, h, depth16),
    thumbnail: { mimeType: 'image/png', ...encodeThumbnailPng(w, h, rgb, 4) },
  };
}

const open: SavedSceneStore[] = [];
let dbCount = 0;

/** Two "tabs": two stores on one database. A fresh name per test keeps channels apart. */
async function twoTabs(): Promise<[SavedSceneStore, SavedSceneStore]> {
  const factory = new IDBFactory();
  const name = `two-tabs-${process.pid}-${++dbCount}`;
  const a = await SavedSceneStore.open(factory, name);
  const b = await SavedSceneStore.open(factory, name);
  open.push(a, b);
  return [a, b];
}

function record(store: SavedSceneStore): SceneChange[] {
  const seen: SceneChange[] = [];
  store.subscribe((c) => seen.push(c));
  return seen;
}

afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

describe('two tabs on one scene database', () => {
  it("a save, patch and delete in one tab fire the other tab's subscribers, and its list is current", async () => {
    const [a, b] = await twoTabs();
    const seenA = record(a);
    const seenB = record(b);

    const saved = await a.save(makeScene('saved in tab A'));
    await vi.waitFor(() => expect(seenB).toEqual([{ kind: 'saved', id: saved.id, remote: true }]));
    expect((await b.list()).map((s) => s.prompt)).toEqual(['saved in tab A']);

    await a.addDetailLayers(saved.id, [encodeDetailPatch(sharpenedPatch(64, { x: 0, y: 0, z: -1 }, 1))]);
    await vi.waitFor(() => expect(seenB.at(-1)).toEqual({ kind: 'updated', id: saved.id, remote: true }));
    expect((await b.list())[0]!.detailLayerCount).toBe(1);

    await a.delete(saved.id);
    await vi.waitFor(() => expect(seenB.at(-1)).toEqual({ kind: 'deleted', id: saved.id, remote: true }));
    expect(await b.list()).toEqual([]);

    // The tab that made the changes hears each once, as its own (no echo from the channel).
    expect(seenA).toEqual([
      { kind: 'saved', id: saved.id, remote: false },
      { kind: 'updated', id: saved.id, remote: false },
      { kind: 'deleted', id: saved.id, remote: false },
    ]);
    expect(seenB).toHaveLength(3);
  });

  it('works both ways, and a closed tab hears nothing', async () => {
    const [a, b] = await twoTabs();
    const seenA = record(a);
    const seenB = record(b);
    const fromB = await b.save(makeScene('saved in tab B'));
    await vi.waitFor(() => expect(seenA).toEqual([{ kind: 'saved', id: fromB.id, remote: true }]));

    b.close();
    await a.save(makeScene('after B closed'));
    // A message still in flight would arrive within a macrotask or two; give it several.
    await new Promise((r) => setTimeout(r, 50));
    expect(seenB).toEqual([{ kind: 'saved', id: fromB.id, remote: false }]);
  });

  it('ignores malformed messages on the channel', async () => {
    const [a] = await twoTabs();
    const seenA = record(a);
    const stranger = new BroadcastChannel(`two-tabs-${process.pid}-${dbCount}:changes`);
    stranger.postMessage({ kind: 'saved' });
    stranger.postMessage('deleted');
    stranger.postMessage({ kind: 'dropped', id: 'x' });
    stranger.postMessage({ kind: 'deleted', id: 'real' });
    await vi.waitFor(() => expect(seenA).toEqual([{ kind: 'deleted', id: 'real', remote: true }]));
    stranger.close();
  });

  it('deleting the scene open in the other tab keeps it on screen there, marked as no longer saved', async () => {
    const [a, b] = await twoTabs();
    const saved = await a.save(makeScene('open in tab B'));

    // Tab B opens the scene from its gallery and watches for deletions, as the app's services do (src/app/services.ts).
    const said: string[] = [];
    let nextId = 1;
    const tabB: SceneServices = {
      viewer: {
        show: () => nextId++,
        say: (kind, text) => void said.push(`${kind}: ${text}`),
        depthMapping: () => ({ near: 1, far: 20 }),
      },
      current: createCurrentSceneStore(),
      store: async () => b,
    };
    const stop = watchDeletedScenes(tabB);
    const panoramaId = await showSavedScene(saved.id, tabB);
    expect(tabB.current.getState().scene?.savedId).toBe(saved.id);

    await a.delete(saved.id);
    await vi.waitFor(() => expect(tabB.current.getState().scene?.savedId).toBeNull());
    const scene = tabB.current.getState().scene!;
    // Still the same scene on screen, with its files for export.
    expect(scene.panoramaId).toBe(panoramaId);
    expect(scene.metadata.prompt).toBe('open in tab B');
    expect(scene.files.rgbPng.byteLength).toBeGreaterThan(0);
    expect(scene.storageError?.message).toBe(deletedSceneMessage(true));
    expect(said).toEqual([`notice: ${deletedSceneMessage(true)}`]);
    // Sharpening afterwards keeps the patch in memory instead of failing on the deleted record.
    await expect(saveDetailPatch(panoramaId, sharpenedPatch(64, { x: 0, y: 0, z: -1 }, 1), tabB)).resolves.toBe('scene-not-saved');
    expect(await b.list()).toEqual([]);
    stop();
  });

  it('deleting another scene leaves the one on screen saved', async () => {
    const [a, b] = await twoTabs();
    const shownScene = await a.save(makeScene('on screen'));
    const other = await a.save(makeScene('other'));
    const tabB: SceneServices = {
      viewer: { show: () => 1, say: () => undefined, depthMapping: () => ({ near: 1, far: 20 }) },
      current: createCurrentSceneStore(),
      store: async () => b,
    };
    const seenB = record(b);
    watchDeletedScenes(tabB);
    await showSavedScene(shownScene.id, tabB);
    await a.delete(other.id);
    await vi.waitFor(() => expect(seenB.at(-1)?.kind).toBe('deleted'));
    expect(tabB.current.getState().scene?.savedId).toBe(shownScene.id);
  });
});
