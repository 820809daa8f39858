/**
 * The cheap per-step preview: the predicted x̂0 (model-space latents, before ÷ scaling factor) turned
 * into RGB + depth by a 4×4 linear map per latent pixel, at latent resolution (1/8 of the image).
 * No VAE call: a few multiply-adds per pixel (GPU: shaders/preview.wgsl; CPU: previewFromLatents).
 *
 * RGB factors: Stable Diffusion 1.5's latent→RGB table (ComfyUI latent_formats.SD15, LDM3D-SPEC §4).
 * LDM3D's VAE was retrained for RGBD, so its latent basis may differ: the colours are indicative.
 * Depth: a documented guess, not a fit: the Rec. 601 luma of the RGB factors (brighter = nearer),
 * because no depth factors exist. Refit all 4×4 factors by least squares on decoded real outputs
 * once real weights are available.
 */
import type { RGBDPanorama } from '../panorama/types';

/** Rows = latent channels c0..c3; columns = R, G, B. */
export const SD15_RGB_FACTORS: readonly (readonly [number, number, number])[] = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
];

/** Per latent channel: depth factor = 0.299·R + 0.587·G + 0.114·B of its RGB factors (a guess, see above). */
export const DEPTH_GUESS_FACTORS: readonly number[] = SD15_RGB_FACTORS.map(([r, g, b]) => 0.299 * r + 0.587 * g + 0.114 * b);

/**
 * Column-major 4×4 matrix M (WGSL mat4x4) with output = M·z: column c holds channel c's
 * (R, G, B, depth) factors; plus a zero bias (SD15 has none).
 */
export function previewMatrix(): { m: Float32Array; bias: Float32Array } {
  const m = new Float32Array(16);
  for (let c = 0; c < 4; c++) {
    const [r, g, b] = SD15_RGB_FACTORS[c];
    m.set([r, g, b, DEPTH_GUESS_FACTORS[c]], c * 4);
  }
  return { m, bias: new Float32Array(4) };
}

/** One channel value in [−1, 1] → byte, exactly like WGSL's pack4x8unorm((v + 1)/2). */
function toByte(v: number): number {
  const x = Math.min(1, Math.max(-1, v));
  return Math.floor(0.5 + 255 * ((x + 1) * 0.5));
}

/** The preview as an RGBDPanorama at latent size; `latent` is [1, 4, h, w] in model space. */
export function previewFromLatents(latent: Float32Array, height: number, width: number): RGBDPanorama {
  const hw = height * width;
  const rgba = new Uint8ClampedArray(hw * 4);
  const depth = new Float32Array(hw);
  for (let i = 0; i < hw; i++) {
    const z0 = latent[i];
    const z1 = latent[hw + i];
    const z2 = latent[2 * hw + i];
    const z3 = latent[3 * hw + i];
    for (let k = 0; k < 3; k++) {
      rgba[4 * i + k] = toByte(z0 * SD15_RGB_FACTORS[0][k] + z1 * SD15_RGB_FACTORS[1][k] + z2 * SD15_RGB_FACTORS[2][k] + z3 * SD15_RGB_FACTORS[3][k]);
    }
    rgba[4 * i + 3] = 255;
    const d = z0 * DEPTH_GUESS_FACTORS[0] + z1 * DEPTH_GUESS_FACTORS[1] + z2 * DEPTH_GUESS_FACTORS[2] + z3 * DEPTH_GUESS_FACTORS[3];
    depth[i] = toByte(d) / 255;
  }
  return { width, height, rgba, depth };
}

/** Unpacks the GPU kernel's packed bytes (R, G, B, depth per pixel) into an RGBDPanorama. */
export function previewFromPacked(packed: Uint8Array, height: number, width: number): RGBDPanorama {
  const hw = height * width;
  const rgba = new Uint8ClampedArray(hw * 4);
  const depth = new Float32Array(hw);
  for (let i = 0; i < hw; i++) {
    rgba[4 * i] = packed[4 * i];
    rgba[4 * i + 1] = packed[4 * i + 1];
    rgba[4 * i + 2] = packed[4 * i + 2];
    rgba[4 * i + 3] = 255;
    depth[i] = packed[4 * i + 3] / 255;
  }
  return { width, height, rgba, depth };
}
