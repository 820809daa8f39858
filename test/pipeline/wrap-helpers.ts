/** Column measures of planar images [channels, H, W] for the wrap tests (issue 12's seam metric). */

/**
 * Issue 12's seam metric: mean |column W−1 − column 0| ÷ mean |column x+1 − column x| over the
 * interior columns, every row and channel. 1.0: the seam is no different from any other column.
 */
export function seamRatio(planes: ArrayLike<number>, channels: number, H: number, W: number): number {
  let seam = 0;
  let interior = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < H; y++) {
      const row = (c * H + y) * W;
      seam += Math.abs(planes[row + W - 1] - planes[row]);
      for (let x = 0; x + 1 < W; x++) interior += Math.abs(planes[row + x + 1] - planes[row + x]);
    }
  }
  return seam / (channels * H) / (interior / (channels * H * (W - 1)));
}

/**
 * Mean |a − b| over the columns [from, to) of planar images, indices taken modulo W (so [−8, 8)
 * is the band around the wrap seam).
 */
export function columnBandError(a: ArrayLike<number>, b: ArrayLike<number>, channels: number, H: number, W: number, band: readonly [number, number]): number {
  if (a.length !== b.length || a.length !== channels * H * W) throw new Error(`sizes ${a.length}, ${b.length}, expected ${channels * H * W}`);
  let sum = 0;
  let n = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = band[0]; x < band[1]; x++) {
        const i = (c * H + y) * W + (((x % W) + W) % W);
        sum += Math.abs(a[i] - b[i]);
        n++;
      }
    }
  }
  return sum / n;
}
