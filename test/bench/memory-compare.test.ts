// The markdown line of bench --memory-compare, from a hand-made result (no pipeline is run).
import { describe, expect, it } from 'vitest';
import { compositionLines, formatBytes, type ConfigResult, type PhaseFigures } from '../../bench/lib/memory-compare';
import type { PeakComposition } from '../../bench/lib/gpu-buffers';

const MiB = 2 ** 20;
const GiB = 1024 * MiB;

function figures(c: PeakComposition): PhaseFigures & { timings: Record<string, number>; stepMedianMs: number | null } {
  return { ms: 1, smiPeakMiB: null, smiEndMiB: null, buffersPeakMiB: c.peakBytes / MiB, buffersEndMiB: 0, buffersAtPeak: c, timings: {}, stepMedianMs: null };
}

const empty: PeakComposition = { bytes: 0, peakBytes: 0, buffers: 0, sizes: 0, byTag: {}, top: [] };

describe('compositionLines', () => {
  it('describes the peak phase: total, buffers, sizes, the largest sizes and bytes by tag', () => {
    const peak: PeakComposition = {
      bytes: 5 * GiB,
      peakBytes: 5 * GiB + 200 * MiB,
      buffers: 2345,
      sizes: 3,
      byTag: { load: 3 * GiB, first: 2 * GiB },
      top: [
        { size: 59 * MiB, count: 12, bytes: 708 * MiB, byTag: { first: 12 } },
        { size: 16 * MiB, count: 1000, bytes: 16000 * MiB, byTag: { load: 1000 } },
      ],
    };
    const r = {
      config: { name: 'staged+tiled', memory: 'staged', warmUp: false },
      load: figures({ ...empty, peakBytes: GiB }),
      warmUp: null,
      first: figures(peak),
      second: figures({ ...empty, peakBytes: 4 * GiB }),
      startupMs: 0,
      startupExclWarmUpMs: 0,
      afterDisposeSmiMiB: null,
      peakSmiMiB: null,
      peakBuffersMiB: peak.peakBytes / MiB,
      peakBuffersPhase: 'first',
    } satisfies ConfigResult;
    expect(compositionLines([r], 2)).toBe(
      '- staged+tiled: peak 5.20 GiB (first generation; composition at 5.00 GiB) in 2,345 buffers of 3 sizes; ' +
        'largest: 59.0 MiB×12, 16.0 MiB×1,000, …; by tag: load 3.00 GiB, first 2.00 GiB',
    );
  });

  it('leaves out the snapshot level when it reads the same as the peak', () => {
    const c: PeakComposition = { bytes: 100 * MiB, peakBytes: 100 * MiB + 1000, buffers: 1, sizes: 1, byTag: { load: 100 * MiB }, top: [{ size: 100 * MiB, count: 1, bytes: 100 * MiB, byTag: { load: 1 } }] };
    const r = {
      config: { name: 'resident+warmup', memory: 'resident', warmUp: true },
      load: figures(c),
      warmUp: figures({ ...empty, peakBytes: 50 * MiB }),
      first: figures({ ...empty, peakBytes: 50 * MiB }),
      second: figures({ ...empty, peakBytes: 50 * MiB }),
      startupMs: 0,
      startupExclWarmUpMs: 0,
      afterDisposeSmiMiB: null,
      peakSmiMiB: null,
      peakBuffersMiB: 100,
      peakBuffersPhase: 'load',
    } satisfies ConfigResult;
    expect(compositionLines([r])).toBe('- resident+warmup: peak 100.0 MiB (load) in 1 buffers of 1 sizes; largest: 100.0 MiB×1; by tag: load 100.0 MiB');
  });

  it('formats sizes from bytes to GiB', () => {
    expect([16, 9 * 1024, 59 * MiB, 5.19 * GiB].map(formatBytes)).toEqual(['16 B', '9.0 KiB', '59.0 MiB', '5.19 GiB']);
  });
});
