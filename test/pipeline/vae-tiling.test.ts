/**
 * The tiled VAE decode (src/pipeline/vae-tiling.ts) against a direct copy of diffusers'
 * AutoencoderKL.tiled_decode loops (every tile kept, blend_v / blend_h in place, crop, concatenate),
 * with a fake decoder, plus hand-computed seams. The real decoder vs diffusers' own tiled decode:
 * vae-tiling.wasm.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decodeLatents, needsTiling, planTiles, resolveTiling, tiledDecode, type DecodedTensor, type VaeTiling } from '../../src/pipeline/vae-tiling';

type Shape = [number, number, number, number];
interface T4 {
  data: Float32Array;
  shape: Shape;
}

const at = (t: T4, n: number, c: number, y: number, x: number): number => ((n * t.shape[1] + c) * t.shape[2] + y) * t.shape[3] + x;

/** z[:, :, r0:r1, c0:c1] with Python's clamping of the stop. */
function slice(t: T4, r0: number, r1: number, c0: number, c1: number): T4 {
  const [N, C, H, W] = t.shape;
  const h = Math.min(r1, H) - r0;
  const w = Math.min(c1, W) - c0;
  const out: T4 = { data: new Float32Array(N * C * h * w), shape: [N, C, h, w] };
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.data[at(out, n, c, y, x)] = t.data[at(t, n, c, r0 + y, c0 + x)];
  return out;
}

/** torch: float32 tensor × Python float → the float is rounded to float32, then one float32 multiply. */
const mul = (a: number, w: number): number => Math.fround(a * Math.fround(w));

function blendV(a: T4, b: T4, extent: number): T4 {
  const e = Math.min(a.shape[2], b.shape[2], extent);
  const [N, C, , W] = b.shape;
  for (let y = 0; y < e; y++)
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let x = 0; x < W; x++) {
          const i = at(b, n, c, y, x);
          b.data[i] = Math.fround(mul(a.data[at(a, n, c, a.shape[2] - e + y, x)], 1 - y / e) + mul(b.data[i], y / e));
        }
  return b;
}

function blendH(a: T4, b: T4, extent: number): T4 {
  const e = Math.min(a.shape[3], b.shape[3], extent);
  const [N, C, H] = b.shape;
  for (let x = 0; x < e; x++)
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let y = 0; y < H; y++) {
          const i = at(b, n, c, y, x);
          b.data[i] = Math.fround(mul(a.data[at(a, n, c, y, a.shape[3] - e + x)], 1 - x / e) + mul(b.data[i], x / e));
        }
  return b;
}

function cat(ts: T4[], axis: 2 | 3): T4 {
  const [N, C] = ts[0].shape;
  const H = axis === 2 ? ts.reduce((s, t) => s + t.shape[2], 0) : ts[0].shape[2];
  const W = axis === 3 ? ts.reduce((s, t) => s + t.shape[3], 0) : ts[0].shape[3];
  const out: T4 = { data: new Float32Array(N * C * H * W), shape: [N, C, H, W] };
  let off = 0;
  for (const t of ts) {
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let y = 0; y < t.shape[2]; y++)
          for (let x = 0; x < t.shape[3]; x++) out.data[axis === 2 ? at(out, n, c, off + y, x) : at(out, n, c, y, off + x)] = t.data[at(t, n, c, y, x)];
    off += t.shape[axis];
  }
  return out;
}

/** diffusers' tiled_decode, line for line (python ints from the same doubles). */
async function diffusersTiledDecode(z: T4, decoder: (t: T4) => Promise<T4>, L: number, S: number, f: number): Promise<T4> {
  const overlapSize = Math.trunc(L * (1 - f));
  const blendExtent = Math.trunc(S * f);
  const rowLimit = S - blendExtent;
  const rows: T4[][] = [];
  for (let i = 0; i < z.shape[2]; i += overlapSize) {
    const row: T4[] = [];
    for (let j = 0; j < z.shape[3]; j += overlapSize) row.push(await decoder(slice(z, i, i + L, j, j + L)));
    rows.push(row);
  }
  const resultRows: T4[] = [];
  rows.forEach((row, i) => {
    const resultRow: T4[] = [];
    row.forEach((tile0, j) => {
      let tile = tile0;
      if (i > 0) tile = blendV(rows[i - 1][j], tile, blendExtent);
      if (j > 0) tile = blendH(row[j - 1], tile, blendExtent);
      resultRow.push(slice(tile, 0, rowLimit, 0, rowLimit));
    });
    resultRows.push(cat(resultRow, 3));
  });
  return cat(resultRows, 2);
}

/**
 * A stand-in decoder: per output channel an affine function of the latent cell under the pixel
 * (upsampled × scale), plus a ramp over the pixel's position IN THE TILE, so neighbouring tiles
 * disagree where they overlap (as a real VAE's do at its borders) and the blends show.
 */
function fakeDecoder(scale: number, outChannels = 3) {
  return (data: Float32Array, shape: readonly number[]): T4 => {
    const [N, C, h, w] = shape;
    const z: T4 = { data, shape: [N, C, h, w] };
    const out: T4 = { data: new Float32Array(N * outChannels * h * scale * w * scale), shape: [N, outChannels, h * scale, w * scale] };
    for (let n = 0; n < N; n++)
      for (let o = 0; o < outChannels; o++)
        for (let y = 0; y < h * scale; y++)
          for (let x = 0; x < w * scale; x++) {
            let v = 0.1 * o - 0.05 + 0.003 * y - 0.002 * x;
            for (let c = 0; c < C; c++) v += ((o + 1) * 0.3 - c * 0.2) * z.data[at(z, n, c, Math.floor(y / scale), Math.floor(x / scale))];
            out.data[at(out, n, o, y, x)] = v;
          }
    return out;
  };
}

function latents(shape: Shape, seed = 1): T4 {
  const data = new Float32Array(shape.reduce((a, b) => a * b));
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = (s / 2147483648) * 4 - 2;
  }
  return { data, shape };
}

function firstMismatch(a: Float32Array, b: Float32Array): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `at ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

const asDecoded = (t: T4): Promise<DecodedTensor> => Promise.resolve({ data: t.data, dims: t.shape });

async function ours(z: T4, scale: number, tiling: VaeTiling, decoder = fakeDecoder(scale)): Promise<DecodedTensor> {
  return tiledDecode(z.data, z.shape, scale, tiling, (d, s) => asDecoded(decoder(d, s)));
}

describe('tile plan', () => {
  it("follows diffusers' sizes: stride int(L·0.75), blend int(S·0.25), keep S − blend; edge tiles shorter", () => {
    const t = resolveTiling({ latentTile: 4 }, 8);
    expect(t).toEqual({ latentTile: 4, sampleTile: 32, overlap: 0.25 });
    const p = planTiles(8, 16, t);
    expect([p.stride, p.blend, p.keep]).toEqual([3, 8, 24]);
    expect(p.rows).toEqual([{ start: 0, size: 4 }, { start: 3, size: 4 }, { start: 6, size: 2 }]);
    expect(p.cols.map((c) => [c.start, c.size])).toEqual([[0, 4], [3, 4], [6, 4], [9, 4], [12, 4], [15, 1]]);
    // LDM3D-pano at 512×1024 with diffusers' default tile (vae sample_size 256 → 32 latent cells): 3 × 6 tiles.
    const pano = planTiles(64, 128, resolveTiling({ latentTile: 32 }, 8));
    expect([pano.rows.length, pano.cols.length, pano.blend, pano.keep]).toEqual([3, 6, 64, 192]);
    expect(pano.cols.at(-1)).toEqual({ start: 120, size: 8 });
  });

  it('refuses tiles that would not give an image of 8 × the latent, with a reason', () => {
    expect(() => resolveTiling({ latentTile: 6 }, 8)).toThrow(/does not tile the image exactly.*multiple of 4/);
    expect(() => resolveTiling({ latentTile: 1 }, 8)).toThrow(/≥ 2/);
    expect(() => resolveTiling({ latentTile: 4.5 }, 8)).toThrow(/whole number/);
    expect(() => resolveTiling({ latentTile: 8, overlap: 1 }, 8)).toThrow(/overlap/);
    expect(() => resolveTiling({ latentTile: 8, overlap: 0 }, 8)).toThrow(/overlap/);
    for (const L of [4, 8, 32, 64]) expect(resolveTiling({ latentTile: L }, 8).sampleTile).toBe(8 * L);
    expect(resolveTiling({ latentTile: 4, overlap: 0.5 }, 8)).toEqual({ latentTile: 4, sampleTile: 32, overlap: 0.5 });
  });
});

describe('tiledDecode (fake decoder)', () => {
  it('one row of constant tiles: the seams are the hand-computed cross-fades, the blended tile feeds the next', async () => {
    // scale 2, L 4 → S 8, stride 3, blend 2, keep 6. Latent 3 × 7 (3 ≤ stride: one tile row; 4 would make
    // two, range(0, 4, 3)): tiles at columns 0, 3, 6 (widths 4, 4, 1).
    const tileValue = [0, 10, 20];
    const calls: number[][] = [];
    const decoder = (_d: Float32Array, s: readonly number[]): T4 => {
      const j = calls.length;
      calls.push([...s]);
      const shape: Shape = [s[0], 1, s[2] * 2, s[3] * 2];
      return { data: new Float32Array(shape[2] * shape[3]).fill(tileValue[j]), shape };
    };
    const out = await tiledDecode(new Float32Array(3 * 7), [1, 1, 3, 7], 2, resolveTiling({ latentTile: 4 }, 2), (d, s) => asDecoded(decoder(d, s)));
    expect(calls).toEqual([[1, 1, 3, 4], [1, 1, 3, 4], [1, 1, 3, 1]]);
    expect(out.dims).toEqual([1, 1, 6, 14]);
    // tile 1 = [0, 5, 10, …] (blend with 0); tile 2 = [10·1 + 20·0, (10·½ + 20·½)] blends with tile 1's BLENDED last columns.
    const row = [0, 0, 0, 0, 0, 0, 0, 5, 10, 10, 10, 10, 10, 15];
    for (let y = 0; y < 6; y++) expect(Array.from(out.data.subarray(y * 14, y * 14 + 14))).toEqual(row);
  });

  it('2-D: a corner pixel blends with neighbours that were themselves blended in place', async () => {
    // Tile (i, j) is the constant 10i + 100j. Tile (1,1) at (y=1, x=1), output (7, 7):
    //   above (0,1) after blend_h with (0,0), its last row, x=1: ½·0 + ½·100 = 50
    //   blend_v, y=1: ½·50 + ½·110 = 80
    //   left (1,0) after blend_v with (0,0), its last column, y=1: ½·0 + ½·10 = 5
    //   blend_h, x=1: ½·5 + ½·80 = 42.5   (from the unblended neighbours it would be 57.5)
    let k = 0;
    const cols = 3; // latent 7 × 7 with stride 3: tiles at 0, 3, 6 on both axes
    const decoder = (_d: Float32Array, s: readonly number[]): T4 => {
      const i = Math.floor(k / cols);
      const j = k++ % cols;
      const shape: Shape = [1, 1, s[2] * 2, s[3] * 2];
      return { data: new Float32Array(shape[2] * shape[3]).fill(10 * i + 100 * j), shape };
    };
    const out = await tiledDecode(new Float32Array(49), [1, 1, 7, 7], 2, resolveTiling({ latentTile: 4 }, 2), (d, s) => asDecoded(decoder(d, s)));
    expect(out.dims).toEqual([1, 1, 14, 14]);
    expect(out.data[7 * 14 + 7]).toBe(42.5);
    expect(out.data[6 * 14 + 6]).toBe(0); // (1,1) at (0,0): weight 0 for the tile itself, twice
    // The last tile (2,2) is 2 × 2 px, so its last pixel is still blended (weight ½ each time):
    //   above (1,2): 210 blended at its last column with (1,1)'s 110 → 160; blend_v: ½·160 + ½·220 = 190
    //   left (2,1): 120 blended at its second row with (1,1)'s 110 → 115; blend_h: ½·115 + ½·190 = 152.5
    expect(out.data[13 * 14 + 13]).toBe(152.5);
  });

  it("equals diffusers' loops bit for bit over sizes, tiles, overlaps, batch and channels", async () => {
    const cases: Array<{ shape: Shape; scale: number; L: number; f?: number }> = [
      { shape: [1, 4, 8, 16], scale: 8, L: 4 },
      { shape: [1, 4, 8, 16], scale: 8, L: 8 },
      { shape: [2, 4, 8, 16], scale: 8, L: 4 },
      { shape: [1, 4, 7, 13], scale: 2, L: 4 },
      { shape: [1, 2, 12, 5], scale: 2, L: 8 },
      { shape: [1, 3, 1, 9], scale: 4, L: 4 },
      { shape: [1, 4, 10, 10], scale: 8, L: 4, f: 0.5 },
      { shape: [1, 4, 20, 26], scale: 2, L: 12 },
    ];
    for (const c of cases) {
      const z = latents(c.shape, c.shape[2] * 31 + c.shape[3]);
      const t = resolveTiling({ latentTile: c.L, overlap: c.f }, c.scale);
      const dec = fakeDecoder(c.scale);
      const ref = await diffusersTiledDecode(z, (tile) => Promise.resolve(dec(tile.data, tile.shape)), t.latentTile, t.sampleTile, t.overlap);
      const got = await ours(z, c.scale, t);
      const what = JSON.stringify(c);
      expect(got.dims, what).toEqual(ref.shape);
      expect(got.dims, what).toEqual([c.shape[0], 3, c.shape[2] * c.scale, c.shape[3] * c.scale]);
      expect(firstMismatch(got.data, ref.data), what).toBeNull();
    }
  });

  it('differs from the untiled decode at the seams (by design) and not away from them', async () => {
    const z = latents([1, 4, 8, 16]);
    const dec = fakeDecoder(8);
    const whole = dec(z.data, z.shape);
    const tiled = await ours(z, 8, resolveTiling({ latentTile: 8 }, 8));
    // The fake decoder's position ramp restarts in every tile: only the first tile is untouched.
    expect(tiled.data[0]).toBe(whole.data[0]);
    expect(firstMismatch(tiled.data, whole.data)).not.toBeNull();
  });

  it('a tile ≥ the latent: decodeLatents decodes the whole latent once, as diffusers does', async () => {
    const z = latents([1, 4, 8, 16]);
    const dec = fakeDecoder(8);
    const whole = dec(z.data, z.shape);
    for (const L of [16, 20, 64]) {
      const t = resolveTiling({ latentTile: L }, 8);
      expect(needsTiling(8, 16, t)).toBe(false);
      let calls = 0;
      const out = await decodeLatents(z.data, z.shape, 8, t, (d, s) => {
        calls++;
        return asDecoded(dec(d, s));
      });
      expect(calls).toBe(1);
      expect(out.dims).toEqual([1, 3, 64, 128]);
      expect(firstMismatch(out.data, whole.data)).toBeNull();
    }
    expect(needsTiling(8, 16, resolveTiling({ latentTile: 12 }, 8))).toBe(true);
    expect(needsTiling(8, 16, resolveTiling({ latentTile: 8 }, 8))).toBe(true); // 16 > 8
    let calls = 0;
    await decodeLatents(z.data, z.shape, 8, null, (d, s) => (calls++, asDecoded(dec(d, s))));
    expect(calls).toBe(1);
  });

  it('decodes tiles one at a time in diffusers order with their exact latent crops', async () => {
    const z = latents([1, 2, 8, 16]);
    const seen: T4[] = [];
    const dec = fakeDecoder(8);
    await tiledDecode(z.data, z.shape, 8, resolveTiling({ latentTile: 8 }, 8), (d, s) => {
      seen.push({ data: d.slice(), shape: [...s] as Shape });
      return asDecoded(dec(d, s));
    });
    const expected: Array<[number, number]> = [[0, 0], [0, 6], [0, 12], [6, 0], [6, 6], [6, 12]];
    expect(seen.map((t) => t.shape)).toEqual([[1, 2, 8, 8], [1, 2, 8, 8], [1, 2, 8, 4], [1, 2, 2, 8], [1, 2, 2, 8], [1, 2, 2, 4]]);
    seen.forEach((t, k) => {
      const [r, c] = expected[k];
      expect(firstMismatch(t.data, slice(z, r, r + 8, c, c + 8).data), `tile ${k}`).toBeNull();
    });
  });

  it('a decoder returning the wrong size is an error, not a garbled image', async () => {
    const z = latents([1, 4, 8, 16]);
    const bad = (d: Float32Array, s: readonly number[]): Promise<DecodedTensor> => asDecoded(fakeDecoder(4)(d, s));
    await expect(tiledDecode(z.data, z.shape, 8, resolveTiling({ latentTile: 4 }, 8), bad)).rejects.toThrow(/returned \[1, 3, 16, 16\].*expected/);
    await expect(tiledDecode(z.data, [1, 4, 8], 8, resolveTiling({ latentTile: 4 }, 8), bad)).rejects.toThrow(/\[N, C, H, W\]/);
  });
});
