/**
 * LDM3D-SR on our own TypeScript pipeline (src/pipeline/ldm3d-sr.ts, the class the app's worker
 * loads for Sharpen), in Node on Dawn WebGPU, timed per component. Prints figures and writes one
 * JSON; never a test.
 *
 *   node .carry/bench/sr-webgpu.mjs --models DIR [--steps 20] [--warm-runs 2] [--guidance 9]
 *        [--noise-level 20] [--profile] [--unet-options JSON] [--ep-options JSON] [--turbofan]
 *        [--label NAME] [--out FILE.json]
 *
 * Bundled first (`node bench/build-device-bundle.mjs --bundle-only`: tsx cannot load the shaders'
 * `?raw` imports); on the GPU machine bench/run-device-sr.sh runs it. Locally it runs on SwiftShader
 * with models/tiny/ldm3d-sr (128×128) as a smoke test.
 *
 * Work: the manifest's image size S (512 for random-full: a 128×128 low-res RGBD upsampled ×4 to
 * 512×512, as the app's crop is; latent 4×64×64), the README prompt, guidance 9 (UNet batch 2),
 * noise level 20, DDIM, seed 42. bench/torch_reference_sr.py builds the same input.
 *
 * Sequence as bench/pano-webgpu.ts: load (session creation per graph, timed by wrapping
 * InferenceSession.create) → upscale 1, cold → warm upscales, free-running (step times from the
 * progress callback) → one warm upscale in "sync" mode (every session run waits for the GPU), which
 * splits it into VAE encode, UNet calls, the time between UNet calls (here: the CPU-side latents
 * loop of ldm3d-sr.ts, input upload, output download) and VAE decode → optionally one UNet call
 * profiled per dispatch.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import * as ort from 'onnxruntime-web/webgpu';
import { installNodeWebGPU, uninstallNodeWebGPU } from '../src/node/webgpu';
import { folderSource } from '../src/node/folder-source';
import { Ldm3dSrPipeline, SR_DEFAULT_PROMPT, type SrResult } from '../src/pipeline/sr/pipeline';
import type { Manifest } from '../src/model/manifest';
import { GpuMemorySampler } from './lib/gpu-memory';
import { OrtProbe, type RunRecord } from './lib/ort-probe';
import { DispatchProfiler } from './lib/dispatch-profiler';
import { median, round, summary } from './lib/stats';
import { installWasmMemoryProbe, wasmHeapBytes } from './lib/wasm-memory';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string' },
    steps: { type: 'string', default: '20' },
    'warm-runs': { type: 'string', default: '2' },
    guidance: { type: 'string', default: '9' },
    'noise-level': { type: 'string', default: '20' },
    profile: { type: 'boolean', default: false },
    'unet-options': { type: 'string' },
    'ep-options': { type: 'string' },
    turbofan: { type: 'boolean', default: false },
    label: { type: 'string', default: 'baseline' },
    out: { type: 'string' },
  },
});
const usage =
  'usage: sr-webgpu --models DIR [--steps N] [--warm-runs N] [--guidance G] [--noise-level N] [--profile] [--unet-options JSON] [--ep-options JSON] [--turbofan] [--label NAME] [--out FILE]';
const steps = Number(args.steps);
const warmRuns = Number(args['warm-runs']);
const guidance = Number(args.guidance);
const noiseLevel = Number(args['noise-level']);
if (!args.models || !Number.isInteger(steps) || steps < 1 || !Number.isInteger(warmRuns) || warmRuns < 0 || !Number.isFinite(guidance) || !Number.isInteger(noiseLevel)) {
  console.error(usage);
  process.exit(2);
}
const modelsDir: string = args.models;
const t0 = performance.now();
const log = (...a: unknown[]): void => console.log(`[sr-webgpu ${((performance.now() - t0) / 1000).toFixed(1)}s]`, ...a);

const manifest = JSON.parse(readFileSync(`${modelsDir}/manifest.json`, 'utf8')) as Manifest;
const size = manifest.image.height;
if (manifest.pipeline !== 'ldm3d-sr' || manifest.image.width !== size || size % 4 !== 0) {
  console.error(`${modelsDir}: expected an ldm3d-sr export with a square image whose side is a multiple of 4, got ${manifest.pipeline} ${size}×${manifest.image.width}`);
  process.exit(2);
}
const lowRes = size / 4;

/**
 * A smooth synthetic low-res RGBD (lowRes², values in [0, 1]) upsampled ×4 bilinearly with
 * half-pixel centres (torch's interpolate, align_corners=False): what Sharpen feeds the upscaler is a
 * crop sampled at the SR size, i.e. smooth at 4× the pixel pitch. Same formulas as
 * bench/torch_reference_sr.py.
 */
function makeInput(n: number, scale: number): { rgb: Float32Array; depth: Float32Array } {
  const small = new Float32Array(n * n * 4);
  const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const u = x / (n - 1);
      const v = y / (n - 1);
      const o = 4 * (y * n + x);
      small[o] = clamp01(0.5 + 0.4 * Math.sin(6 * u + 1));
      small[o + 1] = clamp01(0.5 + 0.4 * Math.cos(5 * v));
      small[o + 2] = clamp01(0.3 + 0.6 * u * v);
      small[o + 3] = clamp01(0.2 + 0.5 * v + 0.15 * Math.sin(7 * u));
    }
  }
  const big = n * scale;
  const rgb = new Float32Array(big * big * 3);
  const depth = new Float32Array(big * big);
  const src = (d: number): [number, number, number] => {
    const s = Math.max(0, (d + 0.5) / scale - 0.5);
    const i0 = Math.min(Math.floor(s), n - 1);
    return [i0, Math.min(i0 + 1, n - 1), s - i0];
  };
  for (let y = 0; y < big; y++) {
    const [y0, y1, fy] = src(y);
    for (let x = 0; x < big; x++) {
      const [x0, x1, fx] = src(x);
      const i = y * big + x;
      for (let c = 0; c < 4; c++) {
        const at = (yy: number, xx: number): number => small[4 * (yy * n + xx) + c];
        const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
        const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        const val = top * (1 - fy) + bottom * fy;
        if (c < 3) rgb[3 * i + c] = val;
        else depth[i] = val;
      }
    }
  }
  return { rgb, depth };
}
const input = makeInput(lowRes, 4);

// Module-level so a failure can still stop nvidia-smi (a child process) and report the peak.
const gpuMem = new GpuMemorySampler(100);

async function main(): Promise<void> {
  installWasmMemoryProbe();
  gpuMem.start();
  const nodeGpu = installNodeWebGPU();
  // After installNodeWebGPU (which sets --liftoff-only) and before ORT compiles its wasm.
  if (args.turbofan) v8.setFlagsFromString('--no-liftoff-only');
  const unetOptions = args['unet-options'] ? (JSON.parse(args['unet-options']) as Record<string, unknown>) : null;
  const epOptions = args['ep-options'] ? (JSON.parse(args['ep-options']) as Record<string, unknown>) : null;
  const probe = new OrtProbe(ort, unetOptions, epOptions);
  const profiler = new DispatchProfiler();
  if (args.profile) profiler.install();

  stage = 'load';
  log(`loading ${modelsDir} (${manifest.model_id}, driver ${nodeGpu.driver})`);
  const loadStart = performance.now();
  const loadStages: Record<string, number> = {};
  const sr = await Ldm3dSrPipeline.load(await folderSource(modelsDir), {
    backend: 'webgpu',
    onProgress: (p) => {
      loadStages[p.stage] = round(performance.now() - loadStart) ?? 0;
    },
  });
  const loadMs = performance.now() - loadStart;
  log(`loaded on ${sr.backend} in ${(loadMs / 1000).toFixed(1)} s (${deviceAdapter()}); sessions:`, probe.creates.map((c) => `${c.name} ${(c.ms / 1000).toFixed(1)} s`).join(', '));
  if (sr.notices.length) log('notices:', sr.notices.join(' | '));
  gpuMem.mark('after-load');
  partial.loadMs = round(loadMs);
  partial.sessions = probe.creates.map((c) => ({ name: c.name, ms: round(c.ms) }));

  interface UpscaleRun {
    readonly totalMs: number;
    readonly stepMs: number[];
    readonly runs: RunRecord[];
    readonly result: SrResult;
  }

  async function upscale(label: string, markMemory = false): Promise<UpscaleRun> {
    probe.clearRuns();
    const stepTimes: number[] = [];
    const ts = performance.now();
    let last = ts;
    const result = await sr.upscale({
      rgb: input.rgb,
      depth: input.depth,
      height: size,
      width: size,
      prompt: SR_DEFAULT_PROMPT,
      steps,
      guidance,
      noiseLevel,
      seed: 42,
      onProgress: (p) => {
        const now = performance.now();
        stepTimes.push(now - last);
        last = now;
        // GPU memory peaks per stage (nvidia-smi samples every 100 ms: a stage's own peak may spill over)
        if (markMemory && p.step === 1) gpuMem.mark(`${label}: text encoder + VAE encode + first UNet step`);
        if (markMemory && p.step === p.total) gpuMem.mark(`${label}: all UNet steps`);
      },
    });
    if (markMemory) gpuMem.mark(`${label}: VAE decode`);
    const totalMs = performance.now() - ts;
    log(`${label}: ${(totalMs / 1000).toFixed(2)} s, median step ${round(median(stepTimes))} ms`);
    return { totalMs, stepMs: stepTimes, runs: [...probe.runs], result };
  }

  function deviceAdapter(): string {
    const info = (probe.device as (GPUDevice & { adapterInfo?: GPUAdapterInfo }) | null)?.adapterInfo;
    return info ? [info.vendor, info.architecture, info.device, info.description].filter((x) => x).join(' ') : 'unknown adapter';
  }

  /** The output is a picture, not NaN or a constant: random weights draw noise, but real numbers. */
  function outputStats(r: SrResult): Record<string, number> {
    const stats = (xs: Float32Array): { mean: number; std: number } => {
      let s = 0;
      let s2 = 0;
      for (const x of xs) {
        s += x;
        s2 += x * x;
      }
      const mean = s / xs.length;
      return { mean, std: Math.sqrt(Math.max(0, s2 / xs.length - mean * mean)) };
    };
    const rgb = stats(r.rgbFloat);
    const depth = stats(r.depth);
    return { width: r.width, height: r.height, rgbMean: round(rgb.mean, 4) ?? NaN, rgbStd: round(rgb.std, 4) ?? NaN, depthMean: round(depth.mean, 4) ?? NaN, depthStd: round(depth.std, 4) ?? NaN };
  }

  const byName = (runs: RunRecord[], name: string): RunRecord[] => runs.filter((r) => r.name === name);
  const callMs = (r: RunRecord): number => (r.gpuDone ?? r.resolved) - r.start;
  const SESSIONS = ['text_encoder', 'vae_encoder', 'unet', 'vae_decoder'] as const;

  // 1. cold
  probe.sync = false;
  stage = 'cold upscale';
  const cold = await upscale('upscale 1 (cold)', true);
  partial.coldMs = round(cold.totalMs);
  partial.coldTimings = cold.result.timings;
  const firstRuns: Record<string, number | null> = {};
  for (const name of SESSIONS) {
    const r = byName(cold.runs, name)[0];
    firstRuns[name] = r ? round(r.resolved - r.start) : null;
  }

  // 2. warm, free-running
  stage = 'warm upscales';
  const warm: UpscaleRun[] = [];
  for (let i = 0; i < warmRuns; i++) warm.push(await upscale(`upscale ${i + 2} (warm)`));

  // 3. warm, sync mode (+ one profiled UNet call)
  stage = 'sync upscale';
  probe.sync = true;
  let profileReport: ReturnType<DispatchProfiler['report']> | null = null;
  if (args.profile) {
    probe.aroundNextCall(
      'unet',
      () => {
        if (!probe.device || !profiler.start(probe.device)) log(`profiling unavailable: ${profiler.unavailable ?? 'no device'}`);
      },
      async () => {
        profiler.stop();
        await probe.device?.queue.onSubmittedWorkDone();
        await profiler.collect();
      },
    );
  }
  const synced = await upscale('upscale (sync: GPU waited after every run)');
  probe.sync = false;
  if (args.profile) {
    profileReport = profiler.report();
    log(`profile: ${profileReport.dispatches} dispatches, ${round(profileReport.totalKernelMs)} ms kernel time; top:`);
    for (const k of profileReport.byKernel.slice(0, 12)) {
      log(`  ${k.name.padEnd(48)} ${String(round(k.ms)).padStart(8)} ms ${String(k.calls).padStart(5)}× ${(k.share * 100).toFixed(1)}%`);
    }
  }

  stage = 'report';
  const unetSync = byName(synced.runs, 'unet').filter((r) => !r.profiled);
  const allUnet = byName(synced.runs, 'unet');
  const gaps: number[] = [];
  for (let i = 0; i + 1 < allUnet.length; i++) {
    if (allUnet[i].profiled || allUnet[i + 1].profiled) continue;
    gaps.push(allUnet[i + 1].start - (allUnet[i].gpuDone ?? allUnet[i].resolved));
  }
  const warmTotals = warm.map((w) => w.totalMs);
  const warmSteps = warm.flatMap((w) => w.stepMs.slice(1)); // the first interval includes the text encoder and VAE encode
  const warmUnetFree = warm.flatMap((w) => byName(w.runs, 'unet'));
  const unetMedian = median(unetSync.map(callMs));
  const gapMedian = median(gaps);
  const heap = wasmHeapBytes();
  const mem = process.memoryUsage();
  const gpuReport = gpuMem.stop();
  const roundAll = (t: Readonly<Record<string, number>>): Record<string, number | null> =>
    Object.fromEntries(Object.entries(t).map(([k, v]) => [k, round(v)]));
  const last = warm[warm.length - 1] ?? synced;

  const result = {
    label: args.label,
    pipelineKind: 'Ldm3dSrPipeline',
    what: 'our TypeScript LDM3D-SR pipeline (src/pipeline/ldm3d-sr.ts + src/runtime/ort.ts) on onnxruntime-web WebGPU (native EP), Node + Dawn',
    weights: manifest.test_weights ? `${manifest.model_id}: test weights, timings only` : manifest.model_id,
    date: new Date().toISOString(),
    node: process.version,
    ort: ort.env.versions,
    backend: sr.backend,
    adapter: deviceAdapter(),
    vulkanDriver: nodeGpu.driver,
    deviceFeatures: probe.device ? [...probe.device.features].sort() : null,
    options: { steps, guidance, noiseLevel, scheduler: manifest.defaults.scheduler, warmRuns, turbofan: args.turbofan, unetOptions, epOptions, profile: args.profile },
    modelDtype: manifest.dtype,
    /** How the graphs' attention was exported ('mha': the pipeline self-tests fused attention at load). */
    attention: manifest.attention ?? null,
    image: { height: size, width: size, lowRes },
    load: {
      totalMs: round(loadMs),
      stagesDoneAtMs: loadStages,
      sessions: probe.creates.map((c) => ({ ...c, ms: round(c.ms) })),
    },
    cold: {
      totalMs: round(cold.totalMs),
      firstRunMs: firstRuns,
      startupMs: round(loadMs + cold.totalMs),
      pipelineTimings: roundAll(cold.result.timings),
    },
    warm: {
      totalMs: summary(warmTotals),
      stepMs: summary(warmSteps),
      unetCallCpuMs: summary(warmUnetFree.map((r) => r.resolved - r.start)),
      pipelineTimings: roundAll(last.result.timings),
    },
    sync: {
      totalMs: round(synced.totalMs),
      textEncoderMs: summary(byName(synced.runs, 'text_encoder').map(callMs)),
      vaeEncodeMs: summary(byName(synced.runs, 'vae_encoder').map(callMs)),
      unetMs: summary(unetSync.map(callMs)),
      unetCpuSideMs: summary(unetSync.map((r) => r.resolved - r.start)),
      betweenUnetMs: summary(gaps),
      betweenUnetShareOfStep: unetMedian !== null && gapMedian !== null ? round(gapMedian / (unetMedian + gapMedian), 4) : null,
      vaeDecodeMs: summary(byName(synced.runs, 'vae_decoder').map(callMs)),
      pipelineTimings: roundAll(synced.result.timings),
      shapes: Object.fromEntries(SESSIONS.map((n) => [n, byName(synced.runs, n)[0]?.shapes ?? null])),
      callsPerSession: Object.fromEntries(SESSIONS.map((n) => [n, byName(synced.runs, n).length])),
    },
    output: outputStats(last.result),
    memory: {
      wasmHeapBytes: heap,
      process: { rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers },
      gpu: gpuReport,
      gpuPeakMarks: gpuMem.markedPeaks,
    },
    profile: profileReport
      ? { ...profileReport, byKernel: profileReport.byKernel.slice(0, 30), note: 'one UNet call, one pass per dispatch (upper bound; see dispatch-profiler.ts)' }
      : args.profile
        ? { unavailable: profiler.unavailable }
        : null,
  };

  const json = JSON.stringify(result, null, 2);
  if (args.out) writeFileSync(args.out, json + '\n');
  console.log(json);
  stage = 'dispose';
  await sr.dispose();
}

/** Where the run was, for the failure record (the device gets one shot: a failure must say where). */
let stage = 'start';
/** Figures measured before a failure, written with it. */
const partial: Record<string, unknown> = {};
try {
  await main();
} catch (e) {
  const error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
  console.error(`[sr-webgpu] FAILED during ${stage}:`, error);
  partial.gpuMemory = gpuMem.stop();
  if (args.out) writeFileSync(args.out, JSON.stringify({ label: args.label, failed: true, stage, error: error.slice(0, 4000), partial, date: new Date().toISOString() }, null, 2) + '\n');
  process.exit(1);
}
uninstallNodeWebGPU();
process.exit(0);
