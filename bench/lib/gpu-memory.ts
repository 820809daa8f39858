/**
 * Samples the GPU's used memory with nvidia-smi in the background while the benchmark runs.
 * Dawn allocates through Vulkan, which nvidia-smi's per-process list does not always show, so the
 * figure is the whole device's used memory minus what was in use before we started: run nothing
 * else on the GPU at the same time.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface GpuMemoryReport {
  readonly gpu: string | null;
  readonly driver: string | null;
  readonly totalMiB: number | null;
  readonly baselineMiB: number | null;
  readonly peakMiB: number | null;
  /** peak − baseline: what this process added at its worst moment. */
  readonly peakAboveBaselineMiB: number | null;
  readonly samples: number;
  readonly intervalMs: number;
  readonly error?: string;
}

function query(fields: string): string[] | null {
  const r = spawnSync('nvidia-smi', [`--query-gpu=${fields}`, '--format=csv,noheader,nounits', '-i', '0'], {
    encoding: 'utf8',
  });
  if (r.status !== 0 || !r.stdout) return null;
  return r.stdout.trim().split('\n')[0].split(',').map((s) => s.trim());
}

export class GpuMemorySampler {
  private child: ChildProcessWithoutNullStreams | null = null;
  private peak = -1;
  private samples = 0;
  private readonly baseline: number | null;
  private readonly info: string[] | null;
  private error: string | undefined;
  private marks: { label: string; peakMiB: number }[] = [];
  /** The latest sample, and the peak since phase() (per-phase peaks in one process). */
  private last = -1;
  private phasePeak = -1;

  constructor(private readonly intervalMs = 100) {
    this.info = query('name,driver_version,memory.total,memory.used');
    this.baseline = this.info ? Number(this.info[3]) : null;
    if (!this.info) this.error = 'nvidia-smi not available';
  }

  start(): void {
    if (!this.info) return;
    const child = spawn('nvidia-smi', [
      '--query-gpu=memory.used', '--format=csv,noheader,nounits', '-i', '0', `-lms`, String(this.intervalMs),
    ]);
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const v = Number(buf.slice(0, nl).trim());
        buf = buf.slice(nl + 1);
        if (Number.isFinite(v)) {
          this.samples++;
          if (v > this.peak) this.peak = v;
          this.last = v;
          if (v > this.phasePeak) this.phasePeak = v;
        }
      }
    });
    child.on('error', (e) => {
      this.error = String(e);
    });
    // The sampler must never keep the benchmark alive.
    child.unref();
    this.child = child;
  }

  /** Records the peak so far under a label (e.g. after session creation), then keeps going. */
  mark(label: string): void {
    this.marks.push({ label, peakMiB: this.peak });
  }

  /** Starts a new phase: phasePeakMiB is then the peak since now (starting from the latest sample). */
  phase(): void {
    this.phasePeak = this.last;
  }

  /** MiB above the idle baseline: the peak since phase(), and the latest sample; null without nvidia-smi. */
  get phaseAboveBaselineMiB(): { peak: number; now: number } | null {
    if (this.baseline === null || this.last < 0) return null;
    return { peak: this.phasePeak - this.baseline, now: this.last - this.baseline };
  }

  get markedPeaks(): readonly { label: string; peakMiB: number }[] {
    return this.marks;
  }

  stop(): GpuMemoryReport {
    this.child?.kill();
    this.child = null;
    const peak = this.peak >= 0 ? this.peak : null;
    return {
      gpu: this.info?.[0] ?? null,
      driver: this.info?.[1] ?? null,
      totalMiB: this.info ? Number(this.info[2]) : null,
      baselineMiB: this.baseline,
      peakMiB: peak,
      peakAboveBaselineMiB: peak !== null && this.baseline !== null ? peak - this.baseline : null,
      samples: this.samples,
      intervalMs: this.intervalMs,
      ...(this.error ? { error: this.error } : {}),
    };
  }
}
