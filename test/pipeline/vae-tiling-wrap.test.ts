/**
 * circularTiledDecode (vae-tiling.ts) with fake decoders, no model: the indexing, the crop and the
 * seam cross-fade. The real decoder: wrap.wasm.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { circularTiledDecode, resolveTiling, tiledDecode, type TileDecoder } from '../../src/pipeline/vae-tiling';
import { maxAbsDiff } from './goldens';
import { seamRatio } from './wrap-helpers';

const SCALE = 8;

/** Nearest-neighbour ×8 upsampling: no context, so any correct tiling reproduces it exactly. */
const nearest: TileDecoder = async (tile, [n, c, h, w]) => {
  const out = new Float32Array(n * c * h * SCALE * w * SCALE);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h * SCALE; y++) {
      for (let x = 0; x < w * SCALE; x++) out[(p * h * SCALE + y) * w * SCALE + x] = tile[(p * h + Math.floor(y / SCALE)) * w + Math.floor(x / SCALE)];
    }
  }
  return { data: out, dims: [n, c, h * SCALE, w * SCALE] };
};

/** Nearest upsampling then a 17-px horizontal box filter with zero padding at the tile's edges: context, as a VAE has. */
const boxed: TileDecoder = async (tile, dims) => {
  const up = await nearest(tile, dims);
  const [, , H, W] = up.dims;
  const out = new Float32Array(up.data.length);
  for (let r = 0; r < up.data.length / W; r++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let k = -8; k <= 8; k++) if (x + k >= 0 && x + k < W) s += up.data[r * W + x + k];
      out[r * W + x] = s / 17;
    }
  }
  return { data: out, dims: [up.dims[0], up.dims[1], H, W] };
};

/** The same box filter over the whole width as a circle: the untiled wrapped decode. */
async function boxedCircular(z: Float32Array, dims: readonly [number, number, number, number]): Promise<Float32Array> {
  const up = await nearest(z, dims);
  const W = up.dims[3];
  const out = new Float32Array(up.data.length);
  for (let r = 0; r < up.data.length / W; r++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let k = -8; k <= 8; k++) s += up.data[r * W + ((x + k + W) % W)];
      out[r * W + x] = s / 17;
    }
  }
  return out;
}

function latents(n: number): Float32Array {
  const z = new Float32Array(n);
  for (let i = 0; i < n; i++) z[i] = Math.sin(i * 0.61) + 0.5 * Math.cos(i * 1.7);
  return z;
}

describe('circular tiled decode (fake decoders)', () => {
  const dims = [1, 4, 8, 16] as const;
  const tiling = resolveTiling({ latentTile: 4 }, SCALE);

  it('with a decoder without context it is exactly the untiled image (the crop and the seam blend are in the right place)', async () => {
    const z = latents(4 * 8 * 16);
    const want = await nearest(z, dims);
    const got = await circularTiledDecode(z, dims, SCALE, tiling, nearest);
    expect(got.dims).toEqual([1, 4, 64, 128]);
    expect(maxAbsDiff(got.data, want.data)).toBeLessThanOrEqual(1e-6);
  });

  it('does not touch the latents, and handles a width narrower than the extension', async () => {
    const z = latents(4 * 8 * 16);
    const copy = z.slice();
    await circularTiledDecode(z, dims, SCALE, tiling, nearest);
    expect(z).toEqual(copy);
    const narrow = latents(4 * 8 * 1);
    const got = await circularTiledDecode(narrow, [1, 4, 8, 1], SCALE, resolveTiling({ latentTile: 16 }, SCALE), nearest);
    expect(maxAbsDiff(got.data, (await nearest(narrow, [1, 4, 8, 1])).data)).toBeLessThanOrEqual(1e-6);
  });

  it('with context at the tile edges, the wrap seam is as close to the circular reference as an interior tile seam; plain tiling is not', async () => {
    const z = latents(4 * 8 * 16);
    const ref = await boxedCircular(z, dims);
    const circ = await circularTiledDecode(z, dims, SCALE, tiling, boxed);
    const flat = await tiledDecode(z, dims, SCALE, tiling, boxed);
    // Worst |Δ| in a column: at the wrap seam (columns 127 and 0..7) vs the interior blend bands.
    const colErr = (img: Float32Array, x: number): number => {
      let m = 0;
      for (let r = 0; r < img.length / 128; r++) m = Math.max(m, Math.abs(img[r * 128 + x] - ref[r * 128 + x]));
      return m;
    };
    const seam = Math.max(...[127, 0, 1, 2, 3, 4, 5, 6, 7].map((x) => colErr(circ.data, x)));
    const interior = Math.max(...[23, 24, 25, 26, 27, 28, 29, 30, 31, 47, 48, 49, 50, 51, 52, 53, 54, 55].map((x) => colErr(circ.data, x)));
    const flatSeam = Math.max(...[127, 0, 1, 2, 3, 4, 5, 6, 7].map((x) => colErr(flat.data, x)));
    expect(seam).toBeLessThanOrEqual(interior * 1.0001);
    expect(flatSeam).toBeGreaterThan(2 * seam);
    expect(seamRatio(circ.data, 4, 64, 128)).toBeLessThan(seamRatio(flat.data, 4, 64, 128));
  });
});
