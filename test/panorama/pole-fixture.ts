import type { RGBDPanorama } from '../../src/panorama/types';

/**
 * A depth map whose top and bottom rows vary strongly with longitude (what a generated panorama
 * gives its poles), smooth rows elsewhere. The pole texel (u = 0.5) reads 0.5 + 0.45·sin(0.3 + …)
 * ≈ 0.63, away from the rows' median 0.5, so a fix that only moved the pole would fail too.
 * Colour encodes the pixel (x, y) so texture tests can tell pixels apart.
 */
export function spikyPolePanorama(width: number, height: number): RGBDPanorama {
  const depth = new Float32Array(width * height);
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const lat = (0.5 - (y + 0.5) / height) * 180;
    for (let x = 0; x < width; x++) {
      const lon = ((x + 0.5) / width - 0.5) * 2 * Math.PI;
      const i = y * width + x;
      // Within 20° of a pole: the crown (5 lobes, ±0.45); elsewhere a gentle wall.
      depth[i] = Math.abs(lat) > 70 ? 0.5 + 0.45 * Math.sin(5 * lon + 0.3 + (lat > 0 ? 0 : 1)) : 0.3 + 0.05 * Math.cos(lon);
      rgba[i * 4] = x & 255;
      rgba[i * 4 + 1] = y & 255;
      rgba[i * 4 + 2] = (x >> 8) * 16;
      rgba[i * 4 + 3] = 255;
    }
  }
  return { width, height, depth, rgba };
}
