/**
 * Moving pieces of a detail layer (gnomonic.ts) between threads and onto textures: a sharpened
 * region is cut out of the worker's scratch layer (only the touched rows and columns travel),
 * composited over the viewer's layer, and its rectangles are merged for partial uploads and for
 * "what has been sharpened" queries.
 *
 * Colour in a layer is premultiplied by its alpha: reprojectPatch composites with
 * layer·(1−w) + colour·w starting from transparent black, and compositeRegion continues that rule,
 * so a region made on a blank layer and composited here gives what reprojectPatch would have
 * given on the accumulated layer (up to 8-bit rounding of the premultiplied colour).
 */
import type { DetailLayer, LayerRegion } from './gnomonic';

/** A rectangle of layer texels that does not wrap: columns x..x+width−1, rows y..y+height−1. */
export interface LayerRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A region's texels, packed row by row (count columns × rows). */
export interface RegionPatch {
  readonly region: LayerRegion;
  /** count·rows·4, premultiplied RGBA8. */
  readonly rgba: Uint8ClampedArray;
  /** count·rows relative inverse depth. */
  readonly depth: Float32Array;
}

export function regionRows(r: LayerRegion): number {
  return r.y1 - r.y0 + 1;
}

/** Checks a region against a layer size; returns what is wrong, or null. */
export function checkRegion(r: LayerRegion, width: number, height: number): string | null {
  const ints = [r.y0, r.y1, r.x0, r.count].every(Number.isInteger);
  if (!ints || r.y0 < 0 || r.y1 >= height || r.y1 < r.y0 || r.x0 < 0 || r.x0 >= width || r.count < 1 || r.count > width) {
    return `region rows ${r.y0}..${r.y1}, columns ${r.x0}+${r.count} does not fit a ${width} × ${height} layer`;
  }
  return null;
}

/** Copies a region out of a layer. */
export function extractRegion(layer: DetailLayer, region: LayerRegion): RegionPatch {
  const bad = checkRegion(region, layer.width, layer.height);
  if (bad) throw new RangeError(`extractRegion: ${bad}`);
  const rows = regionRows(region);
  const rgba = new Uint8ClampedArray(region.count * rows * 4);
  const depth = new Float32Array(region.count * rows);
  for (const s of spans(region, layer.width)) {
    for (let r = 0; r < rows; r++) {
      const src = (region.y0 + r) * layer.width + s.x;
      const dst = r * region.count + s.offset;
      rgba.set(layer.rgba.subarray(src * 4, (src + s.width) * 4), dst * 4);
      depth.set(layer.depth.subarray(src, src + s.width), dst);
    }
  }
  return { region, rgba, depth };
}

/** Makes a region transparent again (the worker's scratch layer after a region was extracted). */
export function clearRegion(layer: DetailLayer, region: LayerRegion): void {
  for (const rect of regionRects(region, layer.width)) {
    for (let y = rect.y; y < rect.y + rect.height; y++) {
      const i = y * layer.width + rect.x;
      layer.rgba.fill(0, i * 4, (i + rect.width) * 4);
      layer.depth.fill(0, i, i + rect.width);
    }
  }
}

/** The one or two (across the 360° seam) rectangles a region covers. */
export function regionRects(region: LayerRegion, width: number): LayerRect[] {
  return spans(region, width).map((s) => ({ x: s.x, y: region.y0, width: s.width, height: regionRows(region) }));
}

/**
 * Composites a patch over the layer ("over" with premultiplied colour, the rule reprojectPatch
 * uses); depth blends by the patch's alpha, and where the layer was empty takes the patch's.
 * Returns the rectangles written.
 */
export function compositeRegion(layer: DetailLayer, patch: RegionPatch): LayerRect[] {
  const { region } = patch;
  const bad = checkRegion(region, layer.width, layer.height);
  if (bad) throw new RangeError(`compositeRegion: ${bad}`);
  const rows = regionRows(region);
  if (patch.rgba.length !== region.count * rows * 4 || patch.depth.length !== region.count * rows) {
    throw new RangeError('compositeRegion: patch buffers do not match its region');
  }
  const { rgba, depth } = layer;
  for (const s of spans(region, layer.width)) {
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < s.width; k++) {
        const p = r * region.count + s.offset + k;
        const wa = patch.rgba[p * 4 + 3];
        if (wa === 0) continue;
        const w = wa / 255;
        const t = (region.y0 + r) * layer.width + s.x + k;
        const o = t * 4;
        const a = rgba[o + 3] / 255;
        for (let c = 0; c < 3; c++) rgba[o + c] = rgba[o + c] * (1 - w) + patch.rgba[p * 4 + c];
        depth[t] = a > 0 ? depth[t] * (1 - w) + patch.depth[p] * w : patch.depth[p];
        rgba[o + 3] = (1 - (1 - a) * (1 - w)) * 255;
      }
    }
  }
  return regionRects(region, layer.width);
}

/**
 * Merges rectangles that overlap or touch into their bounding rectangles until none do, so a
 * list of sharpened areas stays short however often the same place is sharpened.
 */
export function mergeRects(rects: readonly LayerRect[]): LayerRect[] {
  const out = rects.filter((r) => r.width > 0 && r.height > 0).map((r) => ({ ...r }));
  let merged = true;
  while (merged) {
    merged = false;
    for (let i = 0; i < out.length && !merged; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const a = out[i];
        const b = out[j];
        if (a.x > b.x + b.width || b.x > a.x + a.width || a.y > b.y + b.height || b.y > a.y + a.height) continue;
        const x = Math.min(a.x, b.x);
        const y = Math.min(a.y, b.y);
        out[i] = { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
        out.splice(j, 1);
        merged = true;
        break;
      }
    }
  }
  return out;
}

/** True when texture coordinates (u, v) ∈ [0, 1]² fall in one of the rectangles of a width × height layer. */
export function rectsContainUV(rects: readonly LayerRect[], u: number, v: number, width: number, height: number): boolean {
  const x = Math.min(width - 1, Math.max(0, Math.floor((u - Math.floor(u)) * width)));
  const y = Math.min(height - 1, Math.max(0, Math.floor(v * height)));
  return rects.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height);
}

interface Span {
  /** First layer column. */
  readonly x: number;
  readonly width: number;
  /** Column of the packed patch where this span starts. */
  readonly offset: number;
}

function spans(region: LayerRegion, width: number): Span[] {
  const first = Math.min(region.count, width - region.x0);
  const out: Span[] = [{ x: region.x0, width: first, offset: 0 }];
  if (first < region.count) out.push({ x: 0, width: region.count - first, offset: first });
  return out;
}
