export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summary(xs: readonly number[]): { median: number | null; min: number | null; max: number | null; n: number } {
  return {
    median: median(xs),
    min: xs.length ? Math.min(...xs) : null,
    max: xs.length ? Math.max(...xs) : null,
    n: xs.length,
  };
}

export const round = (x: number | null, digits = 1): number | null =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;
