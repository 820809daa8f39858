/**
 * Tiled VAE decode, exactly diffusers' AutoencoderKL.tiled_decode (with `vae.enable_tiling()`),
 * in plain TS on Float32Arrays. The decoder's full-resolution up-blocks keep every activation of
 * the whole image alive (16.6 GiB at 512×1024 on an H100, issue #4); decoded tile by tile, the peak
 * is that of one tile.
 *
 * Design notes: docs/design-notes.md ("Tiled VAE decode").
 */

/** Tiling as diffusers configures it: L, S, f above. */
export interface VaeTiling {
  /** tile_latent_min_size: tile edge in latent cells. */
  readonly latentTile: number;
  /** tile_sample_min_size: tile edge in pixels (diffusers: vae.config.sample_size; here latentTile × scale). */
  readonly sampleTile: number;
  /** tile_overlap_factor (diffusers: 0.25). */
  readonly overlap: number;
}

export const DEFAULT_TILE_OVERLAP = 0.25;

/** One axis of the plan: where each tile starts and how long it is, in latent cells. */
export interface TileSpan {
  readonly start: number;
  readonly size: number;
}

export interface TilePlan {
  /** int(L·(1−f)): latent cells between tile starts. */
  readonly stride: number;
  /** int(S·f): pixels cross-faded at a seam (before the per-seam min with the tile sizes). */
  readonly blend: number;
  /** S − blend: pixels of each tile that reach the output, per axis (less at the last tile). */
  readonly keep: number;
  readonly rows: readonly TileSpan[];
  readonly cols: readonly TileSpan[];
}

/**
 * Checks a tiling for a latent `scale` (the VAE's upsampling, 8) and fills in the defaults. Throws
 * (a plain Error, the caller words it for its user) where diffusers' loops would not give an image
 * of exactly scale × the latent size: that needs keep = stride × scale (latentTile a multiple of 4
 * with the 0.25 overlap).
 */
export function resolveTiling(t: { readonly latentTile: number; readonly overlap?: number }, scale: number): VaeTiling {
  const latentTile = t.latentTile;
  const overlap = t.overlap ?? DEFAULT_TILE_OVERLAP;
  if (!Number.isInteger(latentTile) || latentTile < 2) throw new Error(`the VAE tile must be a whole number of latent cells ≥ 2, got ${latentTile}`);
  if (!Number.isFinite(overlap) || overlap <= 0 || overlap >= 1) throw new Error(`the VAE tile overlap must be a fraction between 0 and 1, got ${overlap}`);
  const tiling: VaeTiling = { latentTile, sampleTile: latentTile * scale, overlap };
  const { stride, keep } = tileSizes(tiling);
  if (stride < 1 || keep !== stride * scale) {
    throw new Error(
      `a VAE tile of ${latentTile} latent cells with overlap ${overlap} does not tile the image exactly ` +
        `(diffusers' tiled decode would keep ${keep} pixels per ${stride}-cell step); with overlap 0.25 use a multiple of 4`,
    );
  }
  return tiling;
}

function tileSizes(t: VaeTiling): { stride: number; blend: number; keep: number } {
  // Python's int() of a positive double, on the same doubles.
  const stride = Math.floor(t.latentTile * (1 - t.overlap));
  const blend = Math.floor(t.sampleTile * t.overlap);
  return { stride, blend, keep: t.sampleTile - blend };
}

/** diffusers' _decode: tiling only when the latent exceeds a tile in either dimension. */
export function needsTiling(latentHeight: number, latentWidth: number, t: VaeTiling): boolean {
  return latentHeight > t.latentTile || latentWidth > t.latentTile;
}

export function planTiles(latentHeight: number, latentWidth: number, t: VaeTiling): TilePlan {
  const { stride, blend, keep } = tileSizes(t);
  if (stride < 1) throw new Error(`tile stride ${stride} < 1`);
  const spans = (n: number): TileSpan[] => {
    const out: TileSpan[] = [];
    for (let s = 0; s < n; s += stride) out.push({ start: s, size: Math.min(t.latentTile, n - s) });
    return out;
  };
  return { stride, blend, keep, rows: spans(latentHeight), cols: spans(latentWidth) };
}

export interface DecodedTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** Decodes one latent tile [N, C, h, w]; the result [N, C', h·scale, w·scale] may be modified in place. */
export type TileDecoder = (tile: Float32Array, dims: readonly [number, number, number, number]) => Promise<DecodedTensor>;

/** Copies z[:, :, r0:r0+h, c0:c0+w] of an [N, C, H, W] array. */
function crop(src: Float32Array, nc: number, H: number, W: number, r0: number, h: number, c0: number, w: number): Float32Array {
  const out = new Float32Array(nc * h * w);
  for (let p = 0; p < nc; p++) {
    for (let y = 0; y < h; y++) {
      const s = (p * H + r0 + y) * W + c0;
      out.set(src.subarray(s, s + w), (p * h + y) * w);
    }
  }
  return out;
}

/**
 * diffusers' tiled_decode of latents [N, C, H, W] (already ÷ scaling factor) with `decodeTile` as
 * post_quant_conv + decoder. Tiles are decoded one at a time, in diffusers' order. The caller
 * decides whether to tile at all (needsTiling: diffusers decodes a latent that fits one tile
 * untiled).
 */
export async function tiledDecode(
  latents: Float32Array,
  dims: readonly number[],
  scale: number,
  tiling: VaeTiling,
  decodeTile: TileDecoder,
): Promise<DecodedTensor> {
  if (dims.length !== 4) throw new Error(`tiled VAE decode wants latents [N, C, H, W], got [${dims.join(', ')}]`);
  const [N, C, H, W] = dims;
  if (latents.length !== N * C * H * W) throw new Error(`latents have ${latents.length} values, [${dims.join(', ')}] needs ${N * C * H * W}`);
  const plan = planTiles(H, W, tiling);
  const { blend, keep } = plan;
  const outH = H * scale;
  const outW = W * scale;
  let out: Float32Array | null = null;
  let nc = 0; // N × output channels, known from the first tile
  // Bottom rows of the previous tile row's (blended) tiles, per column: [nc, rows, width].
  let above: Array<{ data: Float32Array; rows: number; width: number } | null> = plan.cols.map(() => null);
  let outRow = 0;
  for (let i = 0; i < plan.rows.length; i++) {
    const r = plan.rows[i];
    const below: typeof above = plan.cols.map(() => null);
    // Right columns of the previous (blended) tile in this row: [nc, height, cols].
    let left: { data: Float32Array; cols: number } | null = null;
    let outCol = 0;
    let keptRows = 0;
    for (let j = 0; j < plan.cols.length; j++) {
      const c = plan.cols[j];
      const input = crop(latents, N * C, H, W, r.start, r.size, c.start, c.size);
      const dec = await decodeTile(input, [N, C, r.size, c.size]);
      const th = r.size * scale;
      const tw = c.size * scale;
      if (dec.dims.length !== 4 || dec.dims[0] !== N || dec.dims[2] !== th || dec.dims[3] !== tw) {
        throw new Error(`the VAE decoder returned [${dec.dims.join(', ')}] for a [${N}, ${C}, ${r.size}, ${c.size}] tile, expected [${N}, C, ${th}, ${tw}]`);
      }
      if (out === null) {
        nc = N * dec.dims[1];
        out = new Float32Array(nc * outH * outW);
      } else if (N * dec.dims[1] !== nc) {
        throw new Error(`the VAE decoder returned ${dec.dims[1]} channels for one tile and ${nc / N} for another`);
      }
      const t = dec.data;
      if (i > 0) {
        const a = above[j];
        if (a === null || a.width !== tw) throw new Error('internal: no tile above to blend with');
        above[j] = null; // read once: freed as this row's strips come in
        // blend_v: e = min(a.shape[2], b.shape[2], blend); `a` holds a's last min(hA, blend) rows.
        const e = Math.min(a.rows, th, blend);
        for (let y = 0; y < e; y++) {
          const wa = Math.fround(1 - y / e);
          const wb = Math.fround(y / e);
          const ay = a.rows - e + y;
          for (let p = 0; p < nc; p++) {
            const ao = (p * a.rows + ay) * tw;
            const bo = (p * th + y) * tw;
            for (let x = 0; x < tw; x++) t[bo + x] = Math.fround(a.data[ao + x] * wa) + Math.fround(t[bo + x] * wb);
          }
        }
      }
      if (j > 0) {
        const l = left;
        if (l === null) throw new Error('internal: no tile on the left to blend with');
        const e = Math.min(l.cols, tw, blend);
        for (let x = 0; x < e; x++) {
          const wa = Math.fround(1 - x / e);
          const wb = Math.fround(x / e);
          const ax = l.cols - e + x;
          for (let p = 0; p < nc; p++) {
            for (let y = 0; y < th; y++) {
              const bi = (p * th + y) * tw + x;
              t[bi] = Math.fround(l.data[(p * th + y) * l.cols + ax] * wa) + Math.fround(t[bi] * wb);
            }
          }
        }
      }
      // Float32Array stores round the sums: fround(fround(a·wa) + fround(b·wb)), torch's float32 ops.
      if (i + 1 < plan.rows.length) {
        const rows = Math.min(blend, th);
        below[j] = { data: crop(t, nc, th, tw, th - rows, rows, 0, tw), rows, width: tw };
      }
      if (j + 1 < plan.cols.length) {
        const cols = Math.min(blend, tw);
        left = { data: crop(t, nc, th, tw, 0, th, tw - cols, cols), cols };
      }
      // result_row.append(tile[:, :, :keep, :keep]) → the output at (outRow, outCol).
      const kh = Math.min(keep, th);
      const kw = Math.min(keep, tw);
      if (outRow + kh > outH || outCol + kw > outW) throw new Error('internal: tiles overrun the image');
      for (let p = 0; p < nc; p++) {
        for (let y = 0; y < kh; y++) {
          const s = (p * th + y) * tw;
          out.set(t.subarray(s, s + kw), (p * outH + outRow + y) * outW + outCol);
        }
      }
      outCol += kw;
      keptRows = kh;
    }
    if (outCol !== outW) throw new Error(`internal: a tile row is ${outCol} pixels wide, expected ${outW}`);
    above = below;
    outRow += keptRows;
  }
  if (out === null || outRow !== outH) throw new Error(`internal: the tiles cover ${outRow} of ${outH} rows`);
  return { data: out, dims: [N, nc / N, outH, outW] };
}

/**
 * diffusers' AutoencoderKL._decode: tiled when `tiling` is set and the latent exceeds a tile in
 * either dimension, else one decode of the whole latent.
 */
export function decodeLatents(
  latents: Float32Array,
  dims: readonly [number, number, number, number],
  scale: number,
  tiling: VaeTiling | null,
  decode: TileDecoder,
): Promise<DecodedTensor> {
  if (tiling === null || !needsTiling(dims[2], dims[3], tiling)) return decode(latents, dims);
  return tiledDecode(latents, dims, scale, tiling, decode);
}

/**
 * Tiled decode of a panorama's latents whose width is a full turn (issue 12: GenerateOptions.wrap),
 * so that the seam at x = 0 is blended like every other tile boundary:
 *
 *   1. the latents are extended on the right with their first E = ceil(blend / scale) columns
 *      (E ≤ W): the extended row ends one overlap past the seam, as a left tile ends one overlap past
 *      the start of the tile to its right;
 *   2. the extended latents are decoded with diffusers' tiled_decode (tiledDecode above, unchanged);
 *      every tile gets zero padding from the caller's decoder, since a tile is not the whole cylinder;
 *   3. the decoded columns past the seam (W·scale … W·scale + e, e = min(blend, E·scale)) are the
 *      "left tile" of the seam, the image's first columns the "right tile": they are cross-faded
 *      with diffusers' blend_h weights, out[x] = ext[x]·(1 − x/e) + out[x]·(x/e) for x < e;
 *   4. the output is cropped to W·scale.
 *
 * Why this is seamless: column W·scale − 1 (the right edge) is now decoded with the first columns
 * to its right, and out[0] = ext[0], the column decoded right next to it in the same tile, so the
 * right edge continues into the left one; over the next e columns the left tiles' decode fades in,
 * as at any vertical tile seam. Cost: E more latent columns (at most one more column of tiles).
 */
export async function circularTiledDecode(
  latents: Float32Array,
  dims: readonly [number, number, number, number],
  scale: number,
  tiling: VaeTiling,
  decodeTile: TileDecoder,
): Promise<DecodedTensor> {
  const [N, C, H, W] = dims;
  if (latents.length !== N * C * H * W) throw new Error(`latents have ${latents.length} values, [${dims.join(', ')}] needs ${N * C * H * W}`);
  const { blend } = tileSizes(tiling);
  const E = Math.min(W, Math.ceil(blend / scale));
  const We = W + E;
  const extended = new Float32Array(N * C * H * We);
  for (let r = 0; r < N * C * H; r++) {
    extended.set(latents.subarray(r * W, (r + 1) * W), r * We);
    extended.set(latents.subarray(r * W, r * W + E), r * We + W);
  }
  const dec = await tiledDecode(extended, [N, C, H, We], scale, tiling, decodeTile);
  const nc = dec.dims[0] * dec.dims[1];
  const outH = H * scale;
  const outW = W * scale;
  const extW = We * scale;
  const out = new Float32Array(nc * outH * outW);
  for (let r = 0; r < nc * outH; r++) out.set(dec.data.subarray(r * extW, r * extW + outW), r * outW);
  const e = Math.min(blend, E * scale);
  for (let x = 0; x < e; x++) {
    // The same float32 weights and rounding as tiledDecode's blend_h.
    const wa = Math.fround(1 - x / e);
    const wb = Math.fround(x / e);
    for (let r = 0; r < nc * outH; r++) {
      const i = r * outW + x;
      out[i] = Math.fround(dec.data[r * extW + outW + x] * wa) + Math.fround(out[i] * wb);
    }
  }
  return { data: out, dims: [dec.dims[0], dec.dims[1], outH, outW] };
}
