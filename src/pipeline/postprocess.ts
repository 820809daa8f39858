/**
 * VAE output → images, exactly as diffusers' VaeImageProcessorLDM3D does for a 4-channel VAE:
 * every channel x*0.5 + 0.5 clamped to [0, 1] (float32); RGB = channels 0..2, depth = channel 3;
 * 8-bit RGB = round(x·255) (numpy rounds half to even); 16-bit depth = (d·65535) cast to uint16,
 * which truncates.
 */
import type { RGBDPanorama } from '../panorama/types';

export interface Ldm3dImage {
  readonly width: number;
  readonly height: number;
  /** 8-bit RGB, interleaved, row-major from the top-left (length W·H·3). */
  readonly rgb: Uint8Array;
  /** RGB in [0, 1] before 8-bit rounding (diffusers' output_type="np"), interleaved. */
  readonly rgbFloat: Float32Array;
  /** Relative inverse depth in [0, 1], 1 = nearest (length W·H). */
  readonly depth: Float32Array;
  /** trunc(depth · 65535): diffusers' 16-bit depth PNG. */
  readonly depth16: Uint16Array;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return x - Math.floor(x) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `decoded` is the VAE output [1, 4, H, W] (planar, values around [−1, 1]). */
export function postprocess(decoded: Float32Array, height: number, width: number): Ldm3dImage {
  const hw = height * width;
  if (decoded.length < 4 * hw) throw new RangeError(`VAE output has ${decoded.length} values, expected 4·${height}·${width}`);
  const rgb = new Uint8Array(hw * 3);
  const rgbFloat = new Float32Array(hw * 3);
  const depth = new Float32Array(hw);
  const depth16 = new Uint16Array(hw);
  const denorm = (v: number): number => {
    const x = Math.fround(v * 0.5 + 0.5);
    // NaN compares false both ways and would pass a plain clamp; torch.clamp keeps NaN, uint8 casts it to 0.
    return x > 1 ? 1 : x >= 0 ? x : 0;
  };
  for (let c = 0; c < 3; c++) {
    const plane = c * hw;
    for (let i = 0; i < hw; i++) {
      const x = denorm(decoded[plane + i]);
      rgbFloat[3 * i + c] = x;
      rgb[3 * i + c] = roundHalfEven(Math.fround(x * 255));
    }
  }
  for (let i = 0; i < hw; i++) {
    const d = denorm(decoded[3 * hw + i]);
    depth[i] = d;
    depth16[i] = Math.trunc(Math.fround(d * 65535));
  }
  return { width, height, rgb, rgbFloat, depth, depth16 };
}

/** The app's panorama type: RGBA8 with opaque alpha, and the float depth as is (shared, not copied). */
export function toPanorama(image: Ldm3dImage): RGBDPanorama {
  const hw = image.width * image.height;
  const rgba = new Uint8ClampedArray(hw * 4);
  for (let i = 0; i < hw; i++) {
    rgba[4 * i] = image.rgb[3 * i];
    rgba[4 * i + 1] = image.rgb[3 * i + 1];
    rgba[4 * i + 2] = image.rgb[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  return { width: image.width, height: image.height, rgba, depth: image.depth };
}
