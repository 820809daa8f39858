/**
 * The page: the canvas with XR, the desktop panels, the import flow and the synthetic scene shown
 * at start, over the services (stores, worker, XR) that src/main.tsx provides (services.ts).
 */
import { Canvas } from '@react-three/fiber';
import { XR } from '@react-three/xr';
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { DEFAULT_DEPTH_MAPPING } from '../panorama/depth-mapping';
import { Overlay } from '../ui/Overlay';
import { GeneratePanel } from '../ui/generate/GeneratePanel';
import { GalleryPanel } from '../ui/gallery/GalleryPanel';
import { ViewerRig } from '../xr/viewer-rig';
import { watchLeaveVR } from '../xr/leave-vr';
import { importPanoramaFiles } from './import-panorama';
import { syntheticFiles, syntheticMetadata, syntheticPanorama } from './synthetic-scene';
import type { SceneMetadata } from '../export/metadata';
import { showImportedPanorama, showUnsavedScene, type SceneServices } from '../storage/save-then-show';
import { useServices } from './services-context';
import { Viewer } from './Viewer';

/** Used until the renderer reports its limit; every WebGL2 device supports at least this. */
const MIN_WEBGL2_TEXTURE_SIZE = 2048;

// The test room's metadata depends only on its pixels, which never change: computed once per page.
let syntheticMeta: SceneMetadata | null = null;

function showSynthetic(scenes: SceneServices): void {
  const synthetic = syntheticPanorama();
  syntheticMeta ??= syntheticMetadata(synthetic);
  const metadata = syntheticMeta;
  // The room's true metric scale is known: show it at that scale. Shown as an unsaved scene so
  // the export buttons work on it (issue 14) without adding it to the gallery at every start.
  showUnsavedScene(synthetic.panorama, metadata, synthetic.mapping, () => syntheticFiles(synthetic, metadata), scenes);
}

export function App(): ReactNode {
  const services = useServices();
  const { xr: xrStore, viewer: sceneStore, generation: generationStore, scenes } = services;
  const rig = useMemo(() => new ViewerRig(), []);
  const inXR = useStore(xrStore, (s) => s.session != null);
  const [busy, setBusy] = useState(false);
  const maxTextureSize = useRef(MIN_WEBGL2_TEXTURE_SIZE);

  useEffect(() => {
    // After the first paint, so the page and panel appear before the ray caster runs.
    const t = setTimeout(() => showSynthetic(scenes), 0);
    return () => clearTimeout(t);
  }, [scenes]);

  // Leaving VR mid-generation: the job goes on (saved, then shown); the page says so and how to stop it.
  useEffect(
    () => watchLeaveVR(xrStore, generationStore, (text) => sceneStore.getState().say('notice', text)),
    [xrStore, generationStore, sceneStore],
  );

  const onImport = useCallback(async (files: readonly File[]) => {
    const say = sceneStore.getState().say;
    sceneStore.getState().clearMessages();
    setBusy(true);
    try {
      const result = await importPanoramaFiles(files, maxTextureSize.current);
      for (const m of result.messages) say(m.severity, m.message);
      if (result.panorama !== null) {
        // Saved to the gallery, then shown, like "Import scene…": exportable and kept (issue 14).
        // A storage failure is reported by it and the pair is still shown.
        await showImportedPanorama(result.panorama, result.label, scenes);
      } else if (!result.messages.some((m) => m.severity === 'error')) {
        say('error', `Nothing was imported from ${result.label || 'the selection'}.`);
      } else {
        say('notice', 'The current panorama is still shown.');
      }
    } catch (e) {
      // Programming errors still get a message instead of a silent failure.
      console.error(e);
      say('error', `Import failed: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  }, [sceneStore, scenes]);

  const onEnterVR = useCallback(() => {
    xrStore.enterVR().catch((e: unknown) => {
      sceneStore.getState().say('error', `Could not start VR: ${(e as Error).message ?? String(e)}`);
    });
  }, [xrStore, sceneStore]);

  const onExitVR = useCallback(() => {
    void xrStore.getState().session?.end();
  }, [xrStore]);

  return (
    <>
      <Canvas
        className="viewer"
        // Frames only when something changes (src/scene/render-on-demand.ts); XR sessions drive their own.
        frameloop="demand"
        // The panorama supplies its own colours: no tone mapping; output stays sRGB.
        flat
        dpr={[1, 2]}
        camera={{ fov: 75, near: 0.05, far: 1000, position: [0, 0, 0] }}
        gl={{ antialias: true, powerPreference: 'high-performance' }}
        onCreated={({ gl }) => {
          maxTextureSize.current = gl.capabilities.maxTextureSize;
          // The end-to-end tests find the viewer's canvas by this (the emulator adds canvases).
          gl.domElement.dataset.testid = 'viewer-canvas';
        }}
      >
        <XR store={xrStore}>
          <Viewer sceneStore={sceneStore} rig={rig} baseMapping={DEFAULT_DEPTH_MAPPING} />
        </XR>
      </Canvas>
      <Overlay
        sceneStore={sceneStore}
        baseMapping={DEFAULT_DEPTH_MAPPING}
        generation={generationStore}
        sharpen={services.sharpen}
        inXR={inXR}
        busy={busy}
        onEnterVR={onEnterVR}
        onExitVR={onExitVR}
        onRecenter={() => rig.requestRecenter()}
        onImport={(files) => void onImport(files)}
        onShowSynthetic={() => showSynthetic(scenes)}
      />
      <GeneratePanel store={generationStore} />
      <GalleryPanel services={scenes} shownDetail={services.shownDetail} />
    </>
  );
}
