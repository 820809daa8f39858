/** Sharpen end to end in Node on the tiny SR model (wasm): the layer changes there and only there. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directionToCropPixel, createDetailLayer } from '../../../src/panorama/gnomonic';
import { pixelToDirection } from '../../../src/panorama/equirect';
import { renderSyntheticPanorama } from '../../../src/panorama/synthetic';
import { Ldm3dSrPipeline } from '../../../src/pipeline/sr/pipeline';
import { folderSource } from '../../../src/node/folder-source';
import { sharpenRegion } from '../../../src/pipeline/sr/sharpen';
import { preferLiftoff } from '../../../src/node/webgpu';
import { SR_MODELS } from '../ldm3d-sr-parity';

describe('sharpenRegion with the tiny LDM3D-SR (random weights)', () => {
  let sr: Ldm3dSrPipeline;
  beforeAll(async () => {
    preferLiftoff();
    sr = await Ldm3dSrPipeline.load(await folderSource(SR_MODELS), { backend: 'wasm' });
  });
  afterAll(() => sr?.dispose());

  it('writes the gazed region only, regions accumulate, depth agrees at the border', async () => {
    const base = renderSyntheticPanorama(256, 128).panorama;
    const layer = createDetailLayer(1024, 512);
    const first = await sharpenRegion(base, layer, sr, { gaze: { x: 0, y: 0, z: -1 } }, { steps: 2, seed: 1 });
    const inside = (x: number, y: number) => {
      const p = directionToCropPixel(first.basis, pixelToDirection(x, y, 1024, 512));
      return p !== null && p.x >= 0 && p.y >= 0 && p.x <= first.basis.size && p.y <= first.basis.size;
    };
    let written = 0;
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 1024; x++) {
        const a = layer.rgba[(y * 1024 + x) * 4 + 3];
        if (a > 0) {
          written++;
          expect(inside(x, y), `pixel ${x},${y} outside the crop was written`).toBe(true);
        }
      }
    }
    expect(written).toBeGreaterThan(1000);
    // the centre (straight ahead: u = v = 0.5) is fully covered by the SR output
    expect(layer.rgba[(256 * 1024 + 512) * 4 + 3]).toBe(255);
    console.info(`sharpen: fit ${JSON.stringify(first.depthFit)}, border |Δdepth| ${JSON.stringify(first.border)}`);
    // random weights give noise-like depth, so the fit is poor: bound what a fit guarantees —
    // the border residual is no worse than the base's own spread in the crop
    expect(first.border.mean).toBeLessThan(0.5);

    const before = layer.rgba.slice();
    await sharpenRegion(base, layer, sr, { gaze: { x: 1, y: 0, z: 0 } }, { steps: 2, seed: 2 });
    // the first region is untouched by the second (they do not overlap)
    expect(layer.rgba[(256 * 1024 + 512) * 4 + 3]).toBe(255);
    expect(Array.from(layer.rgba.subarray((256 * 1024 + 500) * 4, (256 * 1024 + 524) * 4))).toEqual(
      Array.from(before.subarray((256 * 1024 + 500) * 4, (256 * 1024 + 524) * 4)),
    );
    // and the second is there (u = 0.75: 90° right)
    expect(layer.rgba[(256 * 1024 + 768) * 4 + 3]).toBe(255);
  });
});
