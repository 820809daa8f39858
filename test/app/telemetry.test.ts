import { describe, expect, it } from 'vitest';
import { createDebugHandle } from '../../src/app/debug-handle';
import { detailAlphaSum, startTelemetry } from '../../src/app/telemetry';
import { createAppServices } from '../../src/app/services';
import { createDetailLayer } from '../../src/panorama/gnomonic';
import { PanoramaMesh } from '../../src/scene/panorama-mesh';
import { makePanorama } from '../export/fixtures';
import { testEnvironment } from './app-fakes';

describe('telemetry (window.__ldm3d)', () => {
  it('counts a scene as ready only after a frame was rendered with it', () => {
    const app = createAppServices(testEnvironment().env);
    const handle = createDebugHandle();
    const body = { dataset: {} as DOMStringMap };
    const t = startTelemetry({ viewer: app.viewer, sharpen: app.sharpen }, handle, body);
    const mesh = new PanoramaMesh(app.viewer.getState().depthMapping);
    const panorama = makePanorama(64, 32);
    mesh.setPanorama(panorama);
    t.mesh.changed(mesh, app.viewer.getState());
    expect(handle.triangles).toBe(mesh.stats.triangles);
    t.mesh.shown({ id: 3, panorama, label: 'room' }, false);
    expect(handle.panorama).toEqual({ width: 64, height: 32, label: 'room' });
    expect(handle.sceneReady).toBe(0);
    t.frameRendered({ yaw: 0.5, pitch: -0.1 });
    expect(handle).toMatchObject({ sceneReady: 3, frames: 1, look: { yaw: 0.5, pitch: -0.1 } });
    expect(body.dataset.sceneReady).toBe('3');
    t.renderer(8192);
    expect(handle.maxTextureSize).toBe(8192);
    mesh.dispose();
    t.stop();
    app.destroy();
  });

  it("reports the detail layer the mesh draws, with its alpha summed over the touched texels", () => {
    const app = createAppServices(testEnvironment().env);
    const handle = createDebugHandle();
    const t = startTelemetry({ viewer: app.viewer, sharpen: app.sharpen }, handle);
    const layer = createDetailLayer(16, 8);
    for (let i = 0; i < 4; i++) layer.rgba[(1 * 16 + 2 + i) * 4 + 3] = 255;
    const touched = [{ x: 2, y: 1, width: 4, height: 1 }];
    expect(detailAlphaSum({ layer, touched })).toBe(4);
    const mesh = new PanoramaMesh(app.viewer.getState().depthMapping);
    t.detail.shown(mesh, { ...app.sharpen.getState(), layer, touched, regions: 1 });
    expect(handle.detail).toMatchObject({ width: 16, height: 8, regions: 1, rects: touched, alphaSum: 4, border: null });
    expect(handle.detailMesh).toEqual({ tiles: 0, triangles: 0, edgeTriangles: 0, skippedTiles: 0 });
    t.detail.shown(mesh, app.sharpen.getState());
    expect(handle.detail).toBeNull();
    mesh.dispose();
    t.stop();
    app.destroy();
  });
});
