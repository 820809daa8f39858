/**
 * The desktop gallery: export the scene on screen (RGB PNG, 16-bit depth PNG, GLB, metadata JSON;
 * the sharpened PNGs too once part of it is sharpened),
 * import one back, and list saved scenes with thumbnails to open or delete. A thin view: storage,
 * encoding and import live in src/storage and src/export; this file only calls them and reports
 * failures through the viewer's messages.
 */
import { useCallback, useEffect, useRef, useState, type ChangeEvent, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { exportKindsFor, type ExportKind } from '../../export/downloads';
import { makeExportFileOffThread } from '../../export/export-client';
import type { ShownDetailStore } from '../../export/shown-detail';
import { importSceneFiles, readImportFile } from '../../import/import';
import { showImportedScene, showSavedScene, type SceneServices } from '../../storage/save-then-show';
import type { SceneSummary } from '../../storage/gallery-db';
import { seedText } from './seed-text';
import { downloadBytes } from './download';
import { useObjectUrl } from './use-object-url';
import { useSceneList } from './use-scene-list';
import './gallery.css';

export interface GalleryPanelProps {
  readonly services: SceneServices;
  /** The detail layer drawn with the scene on screen: what the sharpened exports take. */
  readonly shownDetail: ShownDetailStore;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function GalleryPanel({ services, shownDetail }: GalleryPanelProps): ReactNode {
  const current = useStore(services.current, (s) => s.scene);
  const hasDetail = useStore(shownDetail, (s) => s.layer !== null);
  const { scenes, error, loading } = useSceneList(services.store);
  const [busy, setBusy] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState(false);
  const importInput = useRef<HTMLInputElement>(null);
  const { viewer } = services;

  const run = useCallback(
    async (label: string, job: () => Promise<void>) => {
      setBusy(label);
      try {
        await job();
      } catch (e) {
        viewer.say('error', messageOf(e));
      } finally {
        setBusy(null);
      }
    },
    [viewer],
  );

  const onExport = (kind: ExportKind): void => {
    if (!current) return;
    void run(`export-${kind}`, async () => {
      const file = await makeExportFileOffThread(kind, {
        panorama: current.panorama,
        metadata: current.metadata,
        files: current.files,
        depthMapping: viewer.depthMapping(),
        detail: shownDetail.getState().layer,
      });
      downloadBytes(file.bytes, file.name, file.mimeType);
    });
  };

  const onImport = (e: ChangeEvent<HTMLInputElement>): void => {
    const files = e.currentTarget.files ? Array.from(e.currentTarget.files) : [];
    // Reset so picking the same files again fires "change" again.
    e.currentTarget.value = '';
    if (files.length === 0) return;
    void run('import', async () => {
      const imported = await importSceneFiles(await Promise.all(files.map(readImportFile)));
      const label = files.map((f) => f.name).join(' + ');
      await showImportedScene(imported, { label }, services);
      for (const note of imported.notes) viewer.say('notice', note);
    });
  };

  return (
    <aside className={'panel gallery' + (collapsed ? ' collapsed' : '')} aria-label="Scenes" data-testid="gallery">
      <header>
        <h1>Scenes</h1>
        <button type="button" className="link" onClick={() => setCollapsed(!collapsed)} aria-expanded={!collapsed}>
          {collapsed ? 'show' : 'hide'}
        </button>
      </header>
      {collapsed ? null : (
        <div className="gallery-body">
          <div className="gallery-current">
            <p className="gallery-status" data-testid="scene-saved-status">
              {current === null
                ? 'No scene on screen yet.'
                : current.savedId !== null
                  ? 'Saved in this browser.'
                  : current.storageError !== null
                    ? 'Not saved (see the message); export it to keep it.'
                    : // Shown without storing on purpose (the test room): no failure to point at.
                      'Not in the gallery; export it to keep it.'}
            </p>
            <div className="gallery-exports" role="group" aria-label="Export the scene on screen">
              {exportKindsFor(hasDetail).map(({ kind, label }) => (
                <button
                  key={kind}
                  type="button"
                  data-testid={`export-${kind}`}
                  disabled={current === null || busy !== null}
                  onClick={() => onExport(kind)}
                >
                  {busy === `export-${kind}` ? 'Exporting…' : label}
                </button>
              ))}
            </div>
            <div className="row">
              <button type="button" disabled={busy !== null} onClick={() => importInput.current?.click()}>
                Import scene…
              </button>
              <input
                ref={importInput}
                data-testid="import-scene"
                type="file"
                accept=".glb,model/gltf-binary,image/png,image/jpeg,image/webp,.json,application/json"
                multiple
                hidden
                onChange={onImport}
              />
            </div>
          </div>
          <div className="gallery-saved">
            <h2>
              Saved <span className="gallery-count">{loading ? '' : `(${scenes.length})`}</span>
            </h2>
            {error !== null ? (
              <p className="gallery-empty" data-testid="gallery-error">
                {error}
              </p>
            ) : !loading && scenes.length === 0 ? (
              <p className="gallery-empty">No saved scenes yet. Generated scenes are saved here automatically.</p>
            ) : null}
            <ul className="gallery-list" data-testid="gallery-list">
              {scenes.map((s) => (
                <GalleryItem
                  key={s.id}
                  scene={s}
                  isCurrent={current?.savedId === s.id}
                  disabled={busy !== null}
                  onOpen={() => void run('open', async () => void (await showSavedScene(s.id, services)))}
                  onDelete={() =>
                    void run('delete', async () => {
                      const store = await services.store();
                      await store.delete(s.id);
                    })
                  }
                />
              ))}
            </ul>
          </div>
        </div>
      )}
    </aside>
  );
}

interface GalleryItemProps {
  readonly scene: SceneSummary;
  readonly isCurrent: boolean;
  readonly disabled: boolean;
  onOpen(): void;
  onDelete(): void;
}

/** Delete asks once more (a second click within a few seconds) instead of a blocking confirm(). */
const CONFIRM_MS = 4000;

function GalleryItem({ scene, isCurrent, disabled, onOpen, onDelete }: GalleryItemProps): ReactNode {
  const thumb = useObjectUrl(scene.thumbnail.bytes, scene.thumbnail.mimeType, scene.id);
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    if (!confirming) return;
    const t = setTimeout(() => setConfirming(false), CONFIRM_MS);
    return () => clearTimeout(t);
  }, [confirming]);
  const date = new Date(scene.createdAt);
  return (
    <li className={'gallery-item' + (isCurrent ? ' current' : '')} data-testid="gallery-item" data-scene-id={scene.id}>
      <button type="button" className="gallery-thumb" disabled={disabled} onClick={onOpen} title="Open this scene">
        {thumb ? <img src={thumb} alt="" width={scene.thumbnail.width} height={scene.thumbnail.height} /> : null}
      </button>
      <div className="gallery-info">
        <span className="gallery-prompt" title={scene.prompt}>
          {scene.prompt || '(no prompt)'}
        </span>
        <span className="gallery-meta">
          {date.toLocaleString()}
          {seedText(scene)}
          {scene.testWeights ? ' · test weights' : ''}
          {scene.detailLayerCount > 0 ? ` · ${scene.detailLayerCount} sharpened` : ''}
        </span>
        <span className="row">
          <button type="button" data-testid="gallery-open" disabled={disabled} onClick={onOpen}>
            Open
          </button>
          <button
            type="button"
            className={confirming ? 'danger' : 'link'}
            data-testid="gallery-delete"
            disabled={disabled}
            onClick={() => {
              if (confirming) {
                setConfirming(false);
                onDelete();
              } else {
                setConfirming(true);
              }
            }}
          >
            {confirming ? 'Delete for good?' : 'Delete'}
          </button>
        </span>
      </div>
    </li>
  );
}
