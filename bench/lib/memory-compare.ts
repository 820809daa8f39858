/**
 * bench/pano-webgpu.ts --memory-compare: the pipeline's memory policies side by side, in one
 * process, on the same graphs: for each configuration (resident / staged, each without and with
 * warm-up) a fresh Ldm3dPipeline is loaded, optionally warmed up, runs a first (cold) and a second
 * (warm) generation, and is disposed. Every phase records its time, the GPU memory peak and level
 * from nvidia-smi (device-wide, above the idle level before the process started: run nothing else on
 * the GPU) and from counting GPU buffers in JavaScript (gpu-buffers.ts: ours and ORT's; what Dawn or
 * the driver keep after a destroy() is only in the nvidia-smi figure, so the two together tell
 * whether a freed buffer really goes back). Each phase also records what was alive at its buffer
 * peak (GpuBufferTracker.peakComposition: buffers by size and by the phase that created them), and
 * compositionLines() prints that for each configuration's overall peak (issue #4: what the
 * unattributed ~2 GiB of the staged peak are).
 *
 * Order matters for first-run times: a process's first shader compilations also fill the driver's
 * shader cache (BENCHMARKS.md ²), so by default an unreported "prime" run (resident, one
 * generation) goes first and every configuration then sees the same warm driver cache — as a
 * browser with its own shader cache would after the first visit.
 */
import { performance } from 'node:perf_hooks';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline, type GenerateOptions, type LoadOptions, type MemoryPolicy } from '../../src/pipeline/pano/pipeline';
import type { GpuMemorySampler } from './gpu-memory';
import { GpuBufferTracker, type PeakComposition } from './gpu-buffers';
import { median } from './stats';

export interface CompareConfig {
  readonly name: string;
  readonly memory: MemoryPolicy;
  readonly warmUp: boolean;
  /** The VAE decode's tiling; absent = 'off', so 'staged' stays the untiled baseline ('auto' would tile it). */
  readonly vaeTiling?: LoadOptions['vaeTiling'];
  /** ORT's buffer cache (LoadOptions.bufferCache); absent = the pipeline's default. */
  readonly bufferCache?: LoadOptions['bufferCache'];
  /** Overrides --guidance for this configuration (1: a batch-1 UNet, no classifier-free guidance). */
  readonly guidance?: number;
  /** LoadOptions.guidanceBatch; absent = the pipeline's default (split when staged). */
  readonly guidanceBatch?: LoadOptions['guidanceBatch'];
  /** LoadOptions.keepUNet (staged: the UNet session survives generations). */
  readonly keepUNet?: boolean;
  /**
   * This configuration's own generation settings over --steps/--scheduler (e.g. the headset preset:
   * DPM-Solver++ 2M, 20 steps, a DeepCache interval), so one process compares presets.
   */
  readonly generation?: Partial<GenerateOptions>;
}

export interface PhaseFigures {
  readonly ms: number;
  /** nvidia-smi, MiB above the idle level: the peak during the phase and the level at its end. */
  readonly smiPeakMiB: number | null;
  readonly smiEndMiB: number | null;
  /** GPU buffers alive (created and not destroyed), MiB: peak during the phase and at its end. */
  readonly buffersPeakMiB: number;
  readonly buffersEndMiB: number;
  /** What was alive at the buffer peak (top 20 sizes); tags: the phase that created each buffer. */
  readonly buffersAtPeak: PeakComposition;
}

/** The phases of a configuration, also the tags its buffers are created under. */
export type PhaseName = 'load' | 'warm-up' | 'first' | 'second';

export interface ConfigResult {
  readonly config: CompareConfig;
  readonly load: PhaseFigures & { readonly timings: Readonly<Record<string, number>> };
  readonly warmUp: (PhaseFigures & { readonly timings: Readonly<Record<string, number>> }) | null;
  readonly first: PhaseFigures & { readonly timings: Readonly<Record<string, number>>; readonly stepMedianMs: number | null };
  readonly second: PhaseFigures & { readonly timings: Readonly<Record<string, number>>; readonly stepMedianMs: number | null };
  /** Load (+ warm-up) + first generation: what a user waits for from "load" to the first panorama. */
  readonly startupMs: number;
  /** The same without the warm-up: what a user who clicks Generate only after the warm-up waits. */
  readonly startupExclWarmUpMs: number;
  /** nvidia-smi level after dispose (MiB above idle): should be ~0. */
  readonly afterDisposeSmiMiB: number | null;
  readonly peakSmiMiB: number | null;
  readonly peakBuffersMiB: number;
  /** The phase whose buffer peak is peakBuffersMiB (its buffersAtPeak says what was alive). */
  readonly peakBuffersPhase: PhaseName;
}

const MiB = 2 ** 20;
const round = (x: number): number => Math.round(x * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function memoryCompare(options: {
  readonly models: string;
  readonly configs: readonly CompareConfig[];
  readonly prime: boolean;
  readonly generation: GenerateOptions;
  readonly gpuMem: GpuMemorySampler;
  readonly log: (...a: unknown[]) => void;
  /** GpuBufferTracker's snapshot step (default 16 MiB; the tiny models need far less). */
  readonly snapshotStepBytes?: number;
  /** Device limits and subgroups for every load, the prime included (--limits, --subgroups). */
  readonly device?: Pick<LoadOptions, 'limits' | 'subgroups'>;
}): Promise<{ prime: number | null; results: ConfigResult[] }> {
  const { gpuMem, log } = options;
  const tracker = new GpuBufferTracker({ snapshotStepBytes: options.snapshotStepBytes }).install();
  const source = await folderSource(options.models);
  // nvidia-smi samples every 100 ms: wait a little at the end of a phase so its level is seen.
  const settle = (): Promise<void> => sleep(350);

  async function phase<T>(tag: PhaseName | 'dispose', run: () => Promise<T>): Promise<{ value: T; figures: PhaseFigures }> {
    gpuMem.phase();
    tracker.tag = tag;
    tracker.resetPeak();
    const t = performance.now();
    const value = await run();
    const ms = performance.now() - t;
    await settle();
    const smi = gpuMem.phaseAboveBaselineMiB;
    const b = tracker.stats();
    return {
      value,
      figures: {
        ms: round(ms),
        smiPeakMiB: smi?.peak ?? null,
        smiEndMiB: smi?.now ?? null,
        buffersPeakMiB: Math.round((b.peakBytes / MiB) * 100) / 100,
        buffersEndMiB: Math.round((b.liveBytes / MiB) * 100) / 100,
        buffersAtPeak: tracker.peakComposition(20),
      },
    };
  }

  async function generate(pipe: Ldm3dPipeline, config: CompareConfig, guidance?: number): Promise<{ timings: Readonly<Record<string, number>>; stepMedianMs: number | null }> {
    const stepTimes: number[] = [];
    let last = performance.now();
    const out = await pipe.generate({
      ...options.generation,
      ...config.generation,
      ...(guidance === undefined ? {} : { guidance }),
      onProgress: () => {
        const now = performance.now();
        stepTimes.push(now - last);
        last = now;
      },
    });
    // The first interval includes the text encoder (and, staged, the UNet's creation).
    return { timings: roundAll(out.timings), stepMedianMs: stepTimes.length > 1 ? round(median(stepTimes.slice(1)) ?? 0) : null };
  }

  let prime: number | null = null;
  if (options.prime) {
    const t = performance.now();
    tracker.tag = 'prime';
    const p = await Ldm3dPipeline.load(source, { backend: 'webgpu', memory: 'resident', ...options.device });
    await p.generate(options.generation);
    await p.dispose();
    prime = round(performance.now() - t);
    log(`prime (resident, one generation, not compared): ${(prime / 1000).toFixed(1)} s`);
    await sleep(1000);
  }

  const results: ConfigResult[] = [];
  for (const config of options.configs) {
    log(`${config.name}: loading`);
    const load = await phase('load', () => Ldm3dPipeline.load(source, { backend: 'webgpu', memory: config.memory, vaeTiling: config.vaeTiling ?? 'off', bufferCache: config.bufferCache, guidanceBatch: config.guidanceBatch, keepUNet: config.keepUNet, ...options.device }));
    const pipe = load.value;
    try {
      let warm: ConfigResult['warmUp'] = null;
      if (config.warmUp) {
        const w = await phase('warm-up', () => pipe.warmUp());
        warm = { ...w.figures, timings: roundAll(w.value.timings) };
      }
      const first = await phase('first', () => generate(pipe, config, config.guidance));
      const second = await phase('second', () => generate(pipe, config, config.guidance));
      const disposed = await phase('dispose', async () => {
        await pipe.dispose();
        await sleep(1000);
      });
      const phases: Array<[PhaseName, PhaseFigures | null]> = [['load', load.figures], ['warm-up', warm], ['first', first.figures], ['second', second.figures]];
      const all = phases.map(([, f]) => f).filter((x): x is PhaseFigures => x !== null);
      // The first phase with the highest exact peak (its composition is the one at that peak).
      const peakPhase = phases.reduce((best, p) => (p[1] && p[1].buffersAtPeak.peakBytes > (best[1]?.buffersAtPeak.peakBytes ?? -1) ? p : best));
      const smiPeaks = all.map((f) => f.smiPeakMiB).filter((x): x is number => x !== null);
      const r: ConfigResult = {
        config,
        load: { ...load.figures, timings: roundAll(pipe.loadTimings) },
        warmUp: warm,
        first: { ...first.figures, ...first.value },
        second: { ...second.figures, ...second.value },
        startupMs: round(load.figures.ms + (warm?.ms ?? 0) + first.figures.ms),
        startupExclWarmUpMs: round(load.figures.ms + first.figures.ms),
        afterDisposeSmiMiB: disposed.figures.smiEndMiB,
        peakSmiMiB: smiPeaks.length ? Math.max(...smiPeaks) : null,
        peakBuffersMiB: Math.max(...all.map((f) => f.buffersPeakMiB)),
        peakBuffersPhase: peakPhase[0],
      };
      results.push(r);
      log(
        `${config.name}: load ${s(r.load.ms)}${warm ? `, warm-up ${s(warm.ms)}` : ''}, first generation ${s(r.first.ms)}, warm generation ${s(r.second.ms)}; ` +
          `peak GPU ${gib(r.peakSmiMiB)} (nvidia-smi), buffers ${gib(r.peakBuffersMiB)}`,
      );
    } finally {
      await pipe.dispose();
    }
  }
  tracker.uninstall();
  return { prime, results };
}

function roundAll(t: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, round(v)]));
}

const s = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);
const gib = (mib: number | null | undefined): string =>
  mib === null || mib === undefined ? '–' : Math.abs(mib) < 1024 ? `${mib.toFixed(1)} MiB` : `${(mib / 1024).toFixed(2)} GiB`;

/** A markdown table: one column per configuration. */
export function compareTable(results: readonly ConfigResult[]): string {
  const rows: Array<[string, (r: ConfigResult) => string]> = [
    ['load (session creation; staged: create + release each)', (r) => s(r.load.ms)],
    ['warm-up', (r) => (r.warmUp ? s(r.warmUp.ms) : '–')],
    ['first generation (after load / after warm-up)', (r) => s(r.first.ms)],
    ['… of which session creation', (r) => s(sumCreate(r.first.timings))],
    ['start-up = load + warm-up + first generation', (r) => s(r.startupMs)],
    ['start-up without the warm-up (user clicks after it)', (r) => (r.warmUp ? s(r.startupExclWarmUpMs) : '–')],
    ['warm generation (second)', (r) => s(r.second.ms)],
    ['… of which VAE decode', (r) => s(r.second.timings.vaeDecode)],
    ['… of which session creation', (r) => s(sumCreate(r.second.timings))],
    ['step as the user sees it (second generation, median)', (r) => (r.second.stepMedianMs === null ? '–' : `${r.second.stepMedianMs} ms`)],
    ['peak GPU memory, whole configuration (nvidia-smi)', (r) => gib(r.peakSmiMiB)],
    ['… during load', (r) => gib(r.load.smiPeakMiB)],
    ['… during warm-up', (r) => (r.warmUp ? gib(r.warmUp.smiPeakMiB) : '–')],
    ['… during the first generation', (r) => gib(r.first.smiPeakMiB)],
    ['… during the second generation', (r) => gib(r.second.smiPeakMiB)],
    ['GPU memory between generations (nvidia-smi, end of the second)', (r) => gib(r.second.smiEndMiB)],
    ['peak GPU buffers alive (JS count: ours + ORT)', (r) => gib(r.peakBuffersMiB)],
    ['GPU buffers alive between generations', (r) => gib(r.second.buffersEndMiB)],
    ['nvidia-smi after dispose', (r) => gib(r.afterDisposeSmiMiB)],
  ];
  const out = [`| figure | ${results.map((r) => r.config.name).join(' | ')} |`, `|---|${results.map(() => '---').join('|')}|`];
  for (const [label, f] of rows) out.push(`| ${label} | ${results.map(f).join(' | ')} |`);
  return out.join('\n');
}

const PHASE_LABEL: Readonly<Record<PhaseName, string>> = { load: 'load', 'warm-up': 'warm-up', first: 'first generation', second: 'second generation' };

/** Bytes as B / KiB / MiB / GiB: buffer sizes span bytes (tiny models) to GiB. */
export function formatBytes(n: number): string {
  if (Math.abs(n) < 1024) return `${n} B`;
  if (Math.abs(n) < MiB) return `${(n / 1024).toFixed(1)} KiB`;
  if (Math.abs(n) < 1024 * MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / (1024 * MiB)).toFixed(2)} GiB`;
}

/**
 * One line per configuration: what was alive at its overall buffer peak, e.g.
 * "peak 5.19 GiB (first generation) in 2,345 buffers of 412 sizes; largest: 59.0 MiB×12, …; by tag: load 3.20 GiB, first 1.99 GiB".
 * Tags are the phases that created the buffers: where ORT's buffer cache outlives a generation
 * (resident sessions), 'first' buffers alive during the second generation are cached activations.
 */
export function compositionLines(results: readonly ConfigResult[], largest = 6): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return results
    .map((r) => {
      const phase = r.peakBuffersPhase === 'warm-up' ? r.warmUp : r[r.peakBuffersPhase];
      if (!phase) return `- ${r.config.name}: no buffer peak recorded`;
      const c = phase.buffersAtPeak;
      // The snapshot lags the exact peak by less than its step; say so when it does.
      const at = formatBytes(c.bytes) === formatBytes(c.peakBytes) ? '' : `; composition at ${formatBytes(c.bytes)}`;
      const top = c.top.slice(0, largest).map((g) => `${formatBytes(g.size)}×${n(g.count)}`);
      const tags = Object.entries(c.byTag).map(([tag, bytes]) => `${tag} ${formatBytes(bytes)}`);
      return (
        `- ${r.config.name}: peak ${formatBytes(c.peakBytes)} (${PHASE_LABEL[r.peakBuffersPhase]}${at}) in ${n(c.buffers)} buffers of ${n(c.sizes)} sizes; ` +
        `largest: ${top.join(', ') || '–'}${c.sizes > largest ? ', …' : ''}; by tag: ${tags.join(', ') || '–'}`
      );
    })
    .join('\n');
}

function sumCreate(t: Readonly<Record<string, number>>): number | null {
  const keys = ['textEncoderCreate', 'unetCreate', 'vaeDecoderCreate'].filter((k) => k in t);
  return keys.length ? keys.reduce((a, k) => a + t[k], 0) : 0;
}
