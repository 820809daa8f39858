import type { RGBDPanorama } from '../../src/panorama/types';
import type { SceneMetadata } from '../../src/export/metadata';

/**
 * A small synthetic panorama: a colour pattern that differs in every pixel and channel, and a
 * depth map with a far background (d = 0.2) and a near block (d = 0.9) whose borders are depth
 * jumps, so the edge rule has triangles to remove.
 */
export function makePanorama(width = 64, height = 32): RGBDPanorama {
  const rgba = new Uint8ClampedArray(width * height * 4);
  const depth = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      rgba[i * 4] = (x * 4 + y) & 255;
      rgba[i * 4 + 1] = (y * 8 + 3 * x) & 255;
      rgba[i * 4 + 2] = (x * y + 17) & 255;
      rgba[i * 4 + 3] = 255;
      const inBlock = x >= width * 0.6 && x < width * 0.8 && y >= height * 0.3 && y < height * 0.7;
      depth[i] = inBlock ? 0.9 : 0.2 + 0.001 * (x % 7);
    }
  }
  return { width, height, rgba, depth };
}

export function makeMetadata(overrides: Partial<SceneMetadata> = {}): SceneMetadata {
  return {
    prompt: 'a reading room with tall windows, «golden» light, 图书馆 🌅',
    negativePrompt: 'people',
    settings: { steps: 50, guidance: 7, scheduler: 'ddim', seed: 1234567 },
    modelId: 'Intel/ldm3d-pano',
    testWeights: false,
    createdAt: '2026-05-04T12:34:56.789Z',
    width: 64,
    height: 32,
    depthMapping: { near: 1, far: 20 },
    ...overrides,
  };
}
