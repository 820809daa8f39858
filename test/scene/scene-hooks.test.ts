// The logic of src/scene's React hooks (feedPanoramaMesh / feedDetailLayer) against the app's
// real viewer and sharpen stores; the hooks themselves only add React's lifetime and the renderer.
import { describe, expect, it } from 'vitest';
import { createAppServices } from '../../src/app/services';
import { createDetailLayer, type DetailLayer } from '../../src/panorama/gnomonic';
import { PanoramaMesh } from '../../src/scene/panorama-mesh';
import { feedDetailLayer } from '../../src/scene/use-detail-layer';
import { feedPanoramaMesh, type ViewerMesh } from '../../src/scene/use-panorama-mesh';
import { FadeMachine } from '../../src/xr/comfort-fade';
import { makePanorama } from '../export/fixtures';
import { testEnvironment } from '../app/app-fakes';

function setup() {
  const app = createAppServices(testEnvironment().env);
  const viewerMesh: ViewerMesh = { mesh: new PanoramaMesh(app.viewer.getState().depthMapping), swap: { pending: false, afterSwap: null } };
  const fader = new FadeMachine(0.3);
  const head = { presenting: false };
  const shown: [number, boolean][] = [];
  const detailShown: (DetailLayer | null)[] = [];
  const stopMesh = feedPanoramaMesh(viewerMesh, app.viewer, fader, () => head.presenting, () => ({ shown: (s, faded) => void shown.push([s.id, faded]) }));
  const stopDetail = feedDetailLayer(viewerMesh, app.sharpen, () => ({ shown: (mesh) => void detailShown.push(mesh.detailLayer) }));
  return { app, viewerMesh, fader, head, shown, detailShown, stop: () => (stopMesh(), stopDetail()) };
}

describe('src/scene hooks: what the mesh draws', () => {
  it('on the desktop a scene and its detail layer are drawn at once; a preview is drawn but not reported as a scene', () => {
    const { app, viewerMesh, shown, detailShown, stop } = setup();
    const pm = viewerMesh.mesh;
    const a = app.viewer.getState().showPanorama(makePanorama(64, 32), 'a');
    expect(shown).toEqual([[a, false]]);
    const layer = createDetailLayer(64, 32);
    app.sharpen.getState().adopt(a, { layer, rects: [], regions: 1 });
    expect(pm.detailLayer).toBe(layer);
    expect(detailShown.at(-1)).toBe(layer);

    const preview = makePanorama(16, 8);
    app.viewer.getState().showPreview(preview);
    expect(shown).toHaveLength(1);
    app.viewer.getState().setDepthMapping({ near: 2, far: 20 });
    expect(pm.stats.triangles).toBeGreaterThan(0);
    stop();
    pm.dispose();
    app.destroy();
  });

  it("in the headset a new scene comes behind the fade, and its restored detail layer waits for the same moment", () => {
    const { app, viewerMesh, fader, head, shown, stop } = setup();
    const pm = viewerMesh.mesh;
    const a = app.viewer.getState().showPanorama(makePanorama(64, 32), 'a');

    head.presenting = true;
    // As showSavedScene does: show the scene, then hand its detail layer to the sharpen store.
    const b = app.viewer.getState().showPanorama(makePanorama(64, 32), 'b');
    const layer = createDetailLayer(64, 32);
    app.sharpen.getState().adopt(b, { layer, rects: [], regions: 1 });
    expect(app.sharpen.getState().layer).toBe(layer);
    // Not drawn over scene a, which is still on screen until the veil is black.
    expect(viewerMesh.swap.pending).toBe(true);
    expect(pm.detailLayer).toBeNull();
    expect(shown).toEqual([[a, false]]);

    fader.update(0);
    fader.update(1);
    expect(shown).toEqual([
      [a, false],
      [b, true],
    ]);
    expect(viewerMesh.swap.pending).toBe(false);
    expect(pm.detailLayer).toBe(layer);

    // Stopped: nothing reaches the mesh any more.
    stop();
    head.presenting = false;
    app.viewer.getState().showPanorama(makePanorama(64, 32), 'c');
    expect(shown).toHaveLength(2);
    pm.dispose();
    app.destroy();
  });
});
