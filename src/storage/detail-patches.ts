/**
 * Sharpened regions (LDM3D-SR detail patches) as stored with their scene, and the detail layer
 * rebuilt from them when the scene is opened again.
 *
 * Storage format (DETAIL_PATCH_FORMAT = 1), one record per sharpen, in the order they were made:
 * - Coordinates are LAYER texels, not base-image pixels: `layerWidth` × `layerHeight` is the size
 *   of the detail layer the patch was composited into (gnomonic.ts createDetailLayer, 2:1), and
 *   `region` is the worker's LayerRegion: rows y0..y1 and, per row, columns x0 … x0+count−1 taken
 *   modulo layerWidth. A region that crosses the 360° seam is therefore still ONE packed image of
 *   count × rows texels; packed column k is layer column (x0 + k) mod layerWidth.
 * - `rgbaPng`: 8-bit RGBA PNG of the packed texels, colour PREMULTIPLIED by alpha, alpha = the
 *   feathered blend weight (what compositeRegion takes). These are the in-memory bytes as they
 *   are, so colour and weight restore exactly. (Other viewers will show it darker at the
 *   feathered rim: PNG means straight alpha; this file is not meant to be looked at.)
 * - `depthPng`: 16-bit greyscale PNG of relative inverse depth, mapped to the patch's own range:
 *   code = round((d − depthMin) / (depthMax − depthMin) · 65535), 0 where alpha is 0. The error is
 *   at most (depthMax − depthMin) / 131070 ≤ 7.7e-6 (the depth is fitted into [0, 1]), finer than
 *   the base panorama's own 16-bit depth (steps of 1/65535 over the whole scene), so float32
 *   files (twice the bytes, no compression gain) would buy no visible precision.
 *
 * Restoring composites the patches, oldest first, onto a blank layer with compositeRegion: the
 * same arithmetic as when they were made, so colour/alpha come back byte for byte and depth within
 * the bound above (compositing only forms convex combinations, which cannot widen the error).
 */
import { decode, encode } from 'fast-png';
import { checkRegion, compositeRegion, mergeRects, regionRows, type LayerRect, type RegionPatch } from '../panorama/detail-layer';
import { createDetailLayer, type DetailLayer, type LayerRegion } from '../panorama/gnomonic';
import { decodeDepthPng, ImageFormatError } from '../export/png';

export const DETAIL_PATCH_FORMAT = 1;

/** One sharpened region as stored (see the file comment for the encoding). */
export interface DetailPatchRecord {
  readonly kind: 'ldm3d-sr';
  readonly format: typeof DETAIL_PATCH_FORMAT;
  readonly layerWidth: number;
  readonly layerHeight: number;
  readonly region: LayerRegion;
  /** Range of the depth codes: code 0 = depthMin, 65535 = depthMax. */
  readonly depthMin: number;
  readonly depthMax: number;
  readonly rgbaPng: Uint8Array;
  readonly depthPng: Uint8Array;
}

/** A patch with the size of the layer it belongs to: what a sharpen produces and a record holds. */
export interface SizedPatch extends RegionPatch {
  readonly layerWidth: number;
  readonly layerHeight: number;
}

/** A saved scene's detail layer, ready for the viewer. */
export interface RestoredDetail {
  readonly layer: DetailLayer;
  /** Everything the patches touched, merged (as the sharpen store keeps it). */
  readonly rects: readonly LayerRect[];
  /** Patches composited. */
  readonly regions: number;
}

export class DetailPatchError extends Error {
  override readonly name = 'DetailPatchError';
}

/** Largest |restored − original| depth of a record's texels (the 16-bit step / 2, plus float32 rounding). */
export function depthErrorBound(record: Pick<DetailPatchRecord, 'depthMin' | 'depthMax'>): number {
  return (record.depthMax - record.depthMin) / 131070 + 1e-7;
}

/** Encodes a finished patch for storage. Throws RangeError on a patch that does not fit its layer. */
export function encodeDetailPatch(patch: SizedPatch): DetailPatchRecord {
  const { region, layerWidth, layerHeight } = patch;
  checkLayerSize(layerWidth, layerHeight);
  const bad = checkRegion(region, layerWidth, layerHeight);
  if (bad) throw new RangeError(`encodeDetailPatch: ${bad}`);
  const rows = regionRows(region);
  const n = region.count * rows;
  if (patch.rgba.length !== n * 4 || patch.depth.length !== n) throw new RangeError('encodeDetailPatch: patch buffers do not match its region');
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (patch.rgba[i * 4 + 3] === 0) continue;
    const d = patch.depth[i];
    if (!Number.isFinite(d)) throw new RangeError(`encodeDetailPatch: depth ${d} at texel ${i} is not a number`);
    if (d < lo) lo = d;
    if (d > hi) hi = d;
  }
  if (lo > hi) lo = hi = 0; // fully transparent: depth is never read
  const span = hi - lo;
  const codes = new Uint16Array(n);
  if (span > 0) {
    for (let i = 0; i < n; i++) {
      if (patch.rgba[i * 4 + 3] !== 0) codes[i] = Math.round(((patch.depth[i] - lo) / span) * 65535);
    }
  }
  const rgba = new Uint8Array(patch.rgba.buffer, patch.rgba.byteOffset, patch.rgba.length);
  return {
    kind: 'ldm3d-sr',
    format: DETAIL_PATCH_FORMAT,
    layerWidth,
    layerHeight,
    region: { y0: region.y0, y1: region.y1, x0: region.x0, count: region.count },
    depthMin: lo,
    depthMax: hi,
    rgbaPng: encode({ width: region.count, height: rows, data: rgba, depth: 8, channels: 4 }),
    depthPng: encode({ width: region.count, height: rows, data: codes, depth: 16, channels: 1 }),
  };
}

/**
 * Decodes a stored record back into a patch. Throws DetailPatchError saying what is wrong with a
 * damaged or foreign record (never a bare decoder error).
 */
export function decodeDetailPatch(record: DetailPatchRecord): SizedPatch {
  const r = record as Partial<DetailPatchRecord> | null;
  if (!r || r.kind !== 'ldm3d-sr') throw new DetailPatchError('it is not an LDM3D-SR patch');
  if (r.format !== DETAIL_PATCH_FORMAT) throw new DetailPatchError(`it is in format ${String(r.format)}, which this version cannot read`);
  const { layerWidth = NaN, layerHeight = NaN, region, depthMin = NaN, depthMax = NaN } = r;
  if (!isLayerSize(layerWidth, layerHeight)) throw new DetailPatchError(`its layer size ${layerWidth} × ${layerHeight} is not valid`);
  if (!region) throw new DetailPatchError('it has no region');
  const bad = checkRegion(region, layerWidth, layerHeight);
  if (bad) throw new DetailPatchError(bad);
  if (!Number.isFinite(depthMin) || !Number.isFinite(depthMax) || depthMax < depthMin) {
    throw new DetailPatchError(`its depth range ${depthMin}…${depthMax} is not valid`);
  }
  // The store hands back empty bytes for a part it could not find.
  if (!(r.rgbaPng instanceof Uint8Array) || r.rgbaPng.length === 0) throw new DetailPatchError('its colour image is missing from storage');
  if (!(r.depthPng instanceof Uint8Array) || r.depthPng.length === 0) throw new DetailPatchError('its depth image is missing from storage');
  const rows = regionRows(region);
  const n = region.count * rows;

  let png;
  try {
    png = decode(r.rgbaPng, { checkCrc: true });
  } catch (e) {
    throw new DetailPatchError(`its colour image is damaged (${(e as Error).message})`);
  }
  if (png.width !== region.count || png.height !== rows || png.channels !== 4 || png.depth !== 8 || png.palette) {
    throw new DetailPatchError(
      `its colour image is ${png.width} × ${png.height} with ${png.channels} channels of ${png.depth} bits; expected ${region.count} × ${rows} RGBA8`,
    );
  }
  const rgba = new Uint8ClampedArray(n * 4);
  rgba.set(png.data as Uint8Array);

  let depthImage;
  try {
    depthImage = decodeDepthPng(r.depthPng, 'its depth image');
  } catch (e) {
    throw new DetailPatchError(e instanceof ImageFormatError ? e.message : `its depth image is damaged (${(e as Error).message})`);
  }
  if (depthImage.width !== region.count || depthImage.height !== rows || depthImage.bitDepth !== 16) {
    throw new DetailPatchError(`its depth image is ${depthImage.width} × ${depthImage.height} at ${depthImage.bitDepth} bits; expected ${region.count} × ${rows} at 16`);
  }
  const depth = new Float32Array(n);
  const scale = (depthMax - depthMin) / 65535;
  for (let i = 0; i < n; i++) depth[i] = depthMin + depthImage.depth16[i] * scale;
  return { region, rgba, depth, layerWidth, layerHeight };
}

export interface RestoreResult {
  /** Null when no patch could be used. */
  readonly detail: RestoredDetail | null;
  /** One line per patch left out, for the user ("patch 2: its colour image is damaged (…)"). */
  readonly problems: readonly string[];
}

/**
 * Rebuilds the detail layer from a scene's records, oldest first. Damaged records are left out
 * and reported; so are records made for another layer size than the newest one (the sharpen
 * store starts a new layer when the size changes, so those were not on screen either).
 */
export function restoreDetailLayer(records: readonly DetailPatchRecord[]): RestoreResult {
  const problems: string[] = [];
  const patches: { index: number; patch: SizedPatch }[] = [];
  records.forEach((record, index) => {
    try {
      patches.push({ index, patch: decodeDetailPatch(record) });
    } catch (e) {
      problems.push(`patch ${index + 1}: ${e instanceof DetailPatchError ? e.message : (e as Error).message}`);
    }
  });
  const last = patches.at(-1)?.patch;
  if (!last) return { detail: null, problems };
  const layer = createDetailLayer(last.layerWidth, last.layerHeight);
  const rects: LayerRect[] = [];
  let regions = 0;
  for (const { index, patch } of patches) {
    if (patch.layerWidth !== layer.width || patch.layerHeight !== layer.height) {
      problems.push(`patch ${index + 1}: made for a ${patch.layerWidth} × ${patch.layerHeight} layer, not ${layer.width} × ${layer.height}`);
      continue;
    }
    rects.push(...compositeRegion(layer, patch));
    regions++;
  }
  return { detail: { layer, rects: mergeRects(rects), regions }, problems };
}

function isLayerSize(w: number, h: number): boolean {
  return Number.isInteger(w) && Number.isInteger(h) && w === 2 * h && h >= 2 && w <= 65536;
}

function checkLayerSize(w: number, h: number): void {
  if (!isLayerSize(w, h)) throw new RangeError(`encodeDetailPatch: layer size must be 2:1 integers, got ${w} × ${h}`);
}
