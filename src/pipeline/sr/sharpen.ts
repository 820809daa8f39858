/**
 * "Sharpen what you look at": gaze → gnomonic crop → LDM3D-SR → depth fit → detail layer.
 * Plain TS (no three/React): runs in the worker next to the upscaler; the scene uploads the
 * touched region of the layer afterwards.
 */
import {
  applyDepthAffine,
  borderDifference,
  cropPanorama,
  fitDepthAffine,
  fovForScale,
  makeCropBasis,
  reprojectPatch,
  type BorderStats,
  type CropBasis,
  type DepthAffine,
  type DetailLayer,
  type LayerRegion,
} from '../../panorama/gnomonic';
import type { Vec3 } from '../../panorama/equirect';
import type { RGBDPanorama } from '../../panorama/types';
import type { Ldm3dSrPipeline, SrOptions, SrResult } from './pipeline';

/** The SR scale the crop is sampled for: one crop pixel = 1/4 of a base pixel at the crop's centre. */
export const SHARPEN_SCALE = 4;

export interface SharpenRequest {
  /** Where the viewer looks (head forward or a controller ray), world axes. */
  readonly gaze: Vec3;
  /** Crop field of view in radians; default: fovForScale(base width, SR size, 4). */
  readonly fov?: number;
  /** The head's right, for the roll when looking straight up or down. */
  readonly rightHint?: Vec3;
}

export interface SharpenResult {
  readonly basis: CropBasis;
  readonly region: LayerRegion;
  readonly depthFit: DepthAffine;
  /** |fitted SR depth − base depth| on the crop's outer pixel ring (before feathering). */
  readonly border: BorderStats;
  readonly sr: SrResult;
}

type Upscaler = Pick<Ldm3dSrPipeline, 'upscale' | 'manifest'>;

export async function sharpenRegion(
  base: RGBDPanorama,
  layer: DetailLayer,
  upscaler: Upscaler,
  request: SharpenRequest,
  options: Omit<SrOptions, 'rgb' | 'depth' | 'height' | 'width'> = {},
): Promise<SharpenResult> {
  const size = upscaler.manifest.image.height;
  const fov = request.fov ?? fovForScale(base.width, size, SHARPEN_SCALE);
  const basis = makeCropBasis(request.gaze, fov, size, request.rightHint);
  const crop = cropPanorama(base, basis);
  const sr = await upscaler.upscale({ ...options, rgb: crop.rgb, depth: crop.depth, height: size, width: size });
  const depthFit = fitDepthAffine(sr.depth, crop.depth, size);
  const depth = applyDepthAffine(sr.depth, depthFit);
  const border = borderDifference(depth, crop.depth, size);
  const region = reprojectPatch(layer, basis, { size, rgb: sr.rgbFloat, depth });
  return { basis, region, depthFit, border, sr };
}
