/**
 * LDM3D-pano on our own TypeScript pipeline, in Node on Dawn WebGPU (the code the browser runs),
 * timed per component. Prints figures and writes one JSON; never a test.
 *
 *   npx tsx bench/pano-webgpu.ts --models DIR [--steps 20] [--warm-runs 2] [--profile]
 *        [--unet-options JSON] [--ep-options JSON] [--turbofan] [--loop pipeline|stand-in] [--label NAME] [--out FILE.json]
 *        [--vae-tiling N] [--limits needed|default|adapter] [--subgroups auto|on|off]
 *
 * --limits / --subgroups: the WebGPU device's limits and 'subgroups' feature (src/runtime/limits.ts,
 * ort.ts; both runs and --memory-compare). `--limits default --subgroups off` is what a headset's
 * browser gives a page that asks for nothing: WebGPU's default limits, no flash attention.
 *
 * On the GPU machine it runs bundled (bench/build-device-bundle.mjs, bench/run-device.sh).
 *
 * Sequence: load (session creation per graph, timed by wrapping onnxruntime's
 * InferenceSession.create) → generation 1, cold (first runs compile shaders) → warm generations,
 * free-running (the user-facing total; step times from the step callback) → one warm generation
 * in "sync" mode, where every session run waits for the GPU (queue.onSubmittedWorkDone), which
 * splits each step into the UNet call's time and the time between UNet calls (the overhead:
 * guidance mix, scheduler step, preview, any CPU round trip) → optionally one UNet call profiled
 * per dispatch (bench/lib/dispatch-profiler.ts).
 *
 * --memory-compare: instead, the pipeline's memory policies side by side in this one process
 * (bench/lib/memory-compare.ts): for each of --configs (default resident, staged, resident+warmup,
 * staged+warmup) load → [warm-up] → first generation → second generation → dispose, with time,
 * nvidia-smi peak/level and live GPU buffers per phase; prints a markdown table (--md FILE too).
 * An unreported resident "prime" run goes first so every configuration sees a warm driver shader
 * cache (--no-prime to skip). 'staged+tiled' / 'staged+tiled+warmup' add the tiled VAE decode
 * (diffusers' default tile from the manifest, or --vae-tiling N latent cells); the others decode
 * untiled. Below the table, one line per configuration says what was alive at its buffer peak
 * (sizes × counts, bytes by the phase that created them; every phase's top 20 sizes in the JSON);
 * --snapshot-step-mib M sets how much the live bytes must grow between two such snapshots
 * (default: 16, or 1 % of the model folder when that is less: the tiny models hold ~2 MiB).
 * Locally (SwiftShader, tiny models; nvidia-smi figures are then '–'):
 *   npm run bench:pano -- --models models/tiny/ldm3d-pano --memory-compare --steps 2
 * On the GPU machine: bench/run-device-memory.sh.
 *
 * --unet-options merges extra ORT session options into the UNet's session (experiments, e.g.
 * freeDimensionOverrides). --turbofan undoes src/node/webgpu.ts's --liftoff-only (browsers tier wasm
 * up to TurboFan; Node on a 2-core machine waited minutes for it, see that file).
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import * as ort from 'onnxruntime-web/webgpu';
import { installNodeWebGPU, uninstallNodeWebGPU } from '../src/node/webgpu';
import { GpuMemorySampler } from './lib/gpu-memory';
import { OrtProbe, type RunRecord } from './lib/ort-probe';
import { DispatchProfiler } from './lib/dispatch-profiler';
import { median, round, summary } from './lib/stats';
import { installWasmMemoryProbe, wasmHeapBytes } from './lib/wasm-memory';
import type { GenerationOptions } from './lib/pipeline-under-test';
import type { CompareConfig } from './lib/memory-compare';
import { LIMITS_POLICIES, type LimitsPolicy } from '../src/runtime/limits';
import type { SubgroupPolicy } from '../src/runtime/ort';

// Static config here; the pipeline itself is imported dynamically below, after --help: its WGSL
// `?raw` imports load in the bundle (and Vite), not under tsx, so `npx tsx ... --help` still works.
const CONFIGS: Readonly<Record<string, CompareConfig>> = {
  resident: { name: 'resident', memory: 'resident', warmUp: false },
  staged: { name: 'staged', memory: 'staged', warmUp: false },
  'resident+warmup': { name: 'resident+warmup', memory: 'resident', warmUp: true },
  'staged+warmup': { name: 'staged+warmup', memory: 'staged', warmUp: true },
  // The tiled VAE decode (issue #4: the untiled decode sets the staged peak); the tile: --vae-tiling.
  'staged+tiled': { name: 'staged+tiled', memory: 'staged', warmUp: false, vaeTiling: 'auto' },
  'staged+tiled+warmup': { name: 'staged+tiled+warmup', memory: 'staged', warmUp: true, vaeTiling: 'auto' },
  // ORT frees buffers after each batch of GPU work instead of keeping them for reuse: what is alive
  // is then what the graph needs, at the cost of a new buffer per tensor per run.
  'staged+tiled+lazy': { name: 'staged+tiled+lazy', memory: 'staged', warmUp: false, vaeTiling: 'auto', bufferCache: 'lazyRelease' },
  // Guidance 1: a batch-1 UNet, i.e. what splitting classifier-free guidance into two calls would hold.
  'staged+tiled+lazy+g1': { name: 'staged+tiled+lazy+g1', memory: 'staged', warmUp: false, vaeTiling: 'auto', bufferCache: 'lazyRelease', guidance: 1 },
  'staged+tiled+g1': { name: 'staged+tiled+g1', memory: 'staged', warmUp: false, vaeTiling: 'auto', guidance: 1 },
  // Guidance as one batch-2 UNet call (the staged default splits it into two batch-1 calls).
  'staged+tiled+batched': { name: 'staged+tiled+batched', memory: 'staged', warmUp: false, vaeTiling: 'auto', guidanceBatch: 'batched' },
  // Issue #11: the staged policy without re-creating the UNet session every generation.
  'staged+tiled+keep': { name: 'staged+tiled+keep', memory: 'staged', warmUp: false, vaeTiling: 'auto', keepUNet: true },
  // The headset preset (src/pipeline/presets.ts): DPM-Solver++ 2M, 20 steps, with the staged
  // low-memory configuration (split guidance, tiled VAE), the UNet kept or not, DeepCache 1/2/3.
  headset: { name: 'headset', memory: 'staged', warmUp: false, vaeTiling: 'auto', generation: { scheduler: 'dpm', steps: 20 } },
  'headset+keep': { name: 'headset+keep', memory: 'staged', warmUp: false, vaeTiling: 'auto', keepUNet: true, generation: { scheduler: 'dpm', steps: 20 } },
  // … with DeepCache (a full UNet every 2nd / 3rd step; needs an export made with --deepcache).
  'headset+keep+dc2': { name: 'headset+keep+dc2', memory: 'staged', warmUp: false, vaeTiling: 'auto', keepUNet: true, generation: { scheduler: 'dpm', steps: 20, deepCacheInterval: 2 } },
  'headset+keep+dc3': { name: 'headset+keep+dc3', memory: 'staged', warmUp: false, vaeTiling: 'auto', keepUNet: true, generation: { scheduler: 'dpm', steps: 20, deepCacheInterval: 3 } },
  // Every session kept (resident) with the headset's int8 weights and DeepCache: what re-creating the
  // text encoder and VAE sessions costs (headset+keep re-creates them), at what memory; then without
  // the tiled decode, and with guidance batched, to see what each low-memory choice costs in time.
  'headset+resident+dc3': { name: 'headset+resident+dc3', memory: 'resident', warmUp: false, vaeTiling: 'auto', guidanceBatch: 'split', generation: { scheduler: 'dpm', steps: 20, deepCacheInterval: 3 } },
  'headset+resident+untiled+dc3': { name: 'headset+resident+untiled+dc3', memory: 'resident', warmUp: false, vaeTiling: 'off', guidanceBatch: 'split', generation: { scheduler: 'dpm', steps: 20, deepCacheInterval: 3 } },
  'headset+resident+batched+dc3': { name: 'headset+resident+batched+dc3', memory: 'resident', warmUp: false, vaeTiling: 'auto', guidanceBatch: 'batched', generation: { scheduler: 'dpm', steps: 20, deepCacheInterval: 3 } },
  'headset+dc3': { name: 'headset+dc3', memory: 'staged', warmUp: false, vaeTiling: 'auto', generation: { scheduler: 'dpm', steps: 20, deepCacheInterval: 3 } },
  'desktop-dpm20-dc3': { name: 'desktop-dpm20-dc3', memory: 'resident', warmUp: false, generation: { scheduler: 'dpm', steps: 20, deepCacheInterval: 3 } },
  // The desktop configuration (resident, batched guidance, untiled) at the preset's scheduler and steps.
  'desktop-dpm20': { name: 'desktop-dpm20', memory: 'resident', warmUp: false, generation: { scheduler: 'dpm', steps: 20 } },
};
/** The default --configs: the four untiled ones and staged+tiled. */
const DEFAULT_CONFIGS = ['resident', 'staged', 'resident+warmup', 'staged+warmup', 'staged+tiled'];

const { values: args } = parseArgs({
  options: {
    models: { type: 'string' },
    steps: { type: 'string', default: '20' },
    'warm-runs': { type: 'string', default: '2' },
    guidance: { type: 'string', default: '7' },
    scheduler: { type: 'string', default: 'ddim' },
    profile: { type: 'boolean', default: false },
    'unet-options': { type: 'string' },
    'ep-options': { type: 'string' },
    turbofan: { type: 'boolean', default: false },
    loop: { type: 'string', default: 'pipeline' },
    label: { type: 'string', default: 'baseline' },
    out: { type: 'string' },
    'memory-compare': { type: 'boolean', default: false },
    configs: { type: 'string', default: DEFAULT_CONFIGS.join(',') },
    'vae-tiling': { type: 'string' },
    'no-prime': { type: 'boolean', default: false },
    'snapshot-step-mib': { type: 'string' },
    md: { type: 'string' },
    limits: { type: 'string', default: 'needed' },
    subgroups: { type: 'string', default: 'auto' },
    help: { type: 'boolean', default: false },
  },
});
const USAGE = [
  'usage: pano-webgpu --models DIR [--steps N] [--warm-runs N] [--profile] [--unet-options JSON] [--ep-options JSON] [--turbofan] [--loop pipeline|stand-in] [--label NAME] [--out FILE] [--vae-tiling N]',
  `       pano-webgpu --models DIR --memory-compare [--configs ${Object.keys(CONFIGS).join(',')}] [--no-prime] [--steps N] [--guidance G] [--vae-tiling N] [--snapshot-step-mib M] [--out FILE.json] [--md FILE.md]`,
  '--vae-tiling N: decode the image in tiles of N latent cells (a multiple of 4; diffusers tiled_decode); with --memory-compare, the tile of the +tiled configs (default: diffusers\' tile for the model)',
  '--limits needed|default|adapter: WebGPU device limits (default needed: WebGPU\'s defaults raised to the model\'s largest tensor); --subgroups auto|on|off: the subgroups feature (off: no flash attention)',
  '--snapshot-step-mib M: with --memory-compare, the growth of live GPU buffers between two snapshots of what is alive (default 16, or 1 % of the model folder when less)',
  'Run it bundled: npm run bench:pano -- ARGS (tsx cannot load the shaders\' ?raw imports; --help is all it can do).',
  'Memory policies locally (SwiftShader, tiny models): npm run bench:pano -- --models models/tiny/ldm3d-pano --memory-compare --steps 2',
  'On the GPU machine: node bench/build-device-bundle.mjs, then the device tool: run(command="bash bench/run-device-memory.sh", carry=[".node", ".gl", ".carry/bench"], timeout_s=600)',
].join('\n');
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!args.models) {
  console.error(USAGE);
  process.exit(2);
}
if (!(LIMITS_POLICIES as readonly string[]).includes(args.limits)) {
  console.error(`--limits wants one of ${LIMITS_POLICIES.join(', ')}, got ${args.limits}`);
  process.exit(2);
}
if (!['auto', 'on', 'off'].includes(args.subgroups)) {
  console.error(`--subgroups wants auto, on or off, got ${args.subgroups}`);
  process.exit(2);
}
const device = { limits: args.limits as LimitsPolicy, subgroups: args.subgroups as SubgroupPolicy };
const { loadPipelineUnderTest } = await import('./lib/pipeline-under-test');
const { compareTable, compositionLines, memoryCompare } = await import('./lib/memory-compare');
const steps = Number(args.steps);
const vaeTile = args['vae-tiling'] === undefined ? null : Number(args['vae-tiling']);
if (vaeTile !== null && !(Number.isInteger(vaeTile) && vaeTile > 0)) {
  console.error(`--vae-tiling wants a whole number of latent cells, got ${args['vae-tiling']}`);
  process.exit(2);
}
const snapshotStepMiB = args['snapshot-step-mib'] === undefined ? null : Number(args['snapshot-step-mib']);
if (snapshotStepMiB !== null && !(Number.isFinite(snapshotStepMiB) && snapshotStepMiB >= 0)) {
  console.error(`--snapshot-step-mib wants a number of MiB ≥ 0, got ${args['snapshot-step-mib']}`);
  process.exit(2);
}
const warmRuns = Number(args['warm-runs']);
const t0 = performance.now();
const log = (...a: unknown[]): void => console.log(`[webgpu ${((performance.now() - t0) / 1000).toFixed(1)}s]`, ...a);

installWasmMemoryProbe();
const gpuMem = new GpuMemorySampler(100);
gpuMem.start();
const nodeGpu = installNodeWebGPU();
// After installNodeWebGPU (which sets --liftoff-only) and before ORT compiles its wasm.
if (args.turbofan) v8.setFlagsFromString('--no-liftoff-only');
const unetOptions = args['unet-options'] ? (JSON.parse(args['unet-options']) as Record<string, unknown>) : null;
const epOptions = args['ep-options'] ? (JSON.parse(args['ep-options']) as Record<string, unknown>) : null;
const probe = new OrtProbe(ort, unetOptions, epOptions);
const profiler = new DispatchProfiler();
if (args.profile) profiler.install();

const gen: GenerationOptions = {
  prompt: 'a panorama of a mountain lake at sunset, snowy peaks, pine forest',
  negativePrompt: '',
  steps,
  guidance: Number(args.guidance),
  scheduler: args.scheduler as GenerationOptions['scheduler'],
  seed: 42,
};

interface GenerationResult {
  readonly totalMs: number;
  readonly stepMs: number[];
  readonly runs: RunRecord[];
  readonly pipelineTimings: Readonly<Record<string, number>> | null;
}

const pipelineDtype = JSON.parse(readFileSync(`${args.models}/manifest.json`, 'utf8')).dtype as string;

if (args['memory-compare']) {
  const configs: CompareConfig[] = args.configs.split(',').map((name) => {
    const c = CONFIGS[name.trim()];
    if (!c) {
      console.error(`unknown config ${name}; known: ${Object.keys(CONFIGS).join(', ')}`);
      process.exit(2);
    }
    return c.vaeTiling && vaeTile !== null ? { ...c, vaeTiling: { latentTile: vaeTile } } : c;
  });
  log(`memory compare: ${configs.map((c) => c.name).join(', ')}; ${steps} steps, guidance ${gen.guidance}; driver ${nodeGpu.driver}`);
  const { prime, results } = await memoryCompare({
    models: args.models,
    configs,
    prime: !args['no-prime'],
    generation: { prompt: gen.prompt, negativePrompt: gen.negativePrompt, steps, guidance: gen.guidance, scheduler: gen.scheduler, seed: gen.seed, preview: true },
    gpuMem,
    log,
    // 16 MiB would snapshot nothing of the tiny models' ~2 MiB; 1 % of the weights keeps it meaningful.
    device,
    snapshotStepBytes: snapshotStepMiB === null ? Math.min(16 * 2 ** 20, Math.ceil(folderBytes(args.models) / 100)) : snapshotStepMiB * 2 ** 20,
  });
  const gpu = gpuMem.stop();
  const table = `${compareTable(results)}\n\nWhat is alive at each configuration's peak of GPU buffers (tag: the phase that created them):\n\n${compositionLines(results)}`;
  const adapter = probe.device ? deviceAdapter() : 'unknown adapter';
  const header = `Memory policies, ${steps} steps, guidance ${gen.guidance}, ${gen.scheduler}; ${pipelineDtype} weights from ${args.models}; adapter ${adapter}; GPU ${gpu.gpu ?? '– (no nvidia-smi)'}; ${new Date().toISOString()}`;
  const result = {
    label: args.label,
    kind: 'memory-compare',
    date: new Date().toISOString(),
    node: process.version,
    ort: ort.env.versions,
    adapter,
    vulkanDriver: nodeGpu.driver,
    modelDtype: pipelineDtype,
    options: { steps, guidance: gen.guidance, scheduler: gen.scheduler, prime: !args['no-prime'], ...device },
    primeMs: prime,
    gpu,
    sessionCreates: probe.creates.map((c) => ({ ...c, ms: round(c.ms) })),
    wasmHeapBytes: wasmHeapBytes(),
    results,
  };
  if (args.out) writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');
  if (args.md) writeFileSync(args.md, `${header}\n\n${table}\n`);
  console.log(`\n${header}\n\n${table}\n`);
  uninstallNodeWebGPU();
  process.exit(0);
}
const pipeline = await (async () => {
  log(`loading ${args.models} (driver ${nodeGpu.driver})`);
  const tl = performance.now();
  const p = await loadPipelineUnderTest(args.models!, args.loop === 'stand-in' ? 'stand-in' : 'pipeline', { ...device, ...(vaeTile === null ? {} : { vaeTiling: { latentTile: vaeTile } }) });
  const loadMs = performance.now() - tl;
  log(`loaded (${p.kind}) in ${(loadMs / 1000).toFixed(1)} s on ${deviceAdapter()}; sessions:`, probe.creates.map((c) => `${c.name} ${(c.ms / 1000).toFixed(1)} s`).join(', '));
  log(`model line: ${p.summary}`);
  return Object.assign(p, { loadMs });
})();
gpuMem.mark('after-load');

async function generate(label: string, markMemory = false): Promise<GenerationResult> {
  probe.clearRuns();
  const stepTimes: number[] = [];
  const ts = performance.now();
  let last = ts;
  const out = await pipeline.generate(gen, (step) => {
    const now = performance.now();
    stepTimes.push(now - last);
    last = now;
    // GPU memory peaks per stage (nvidia-smi samples every 100 ms: a stage's own peak may spill over)
    if (markMemory && step === 1) gpuMem.mark(`${label}: text encoder + first UNet step`);
    if (markMemory && step === steps) gpuMem.mark(`${label}: all UNet steps`);
  });
  if (markMemory) gpuMem.mark(`${label}: VAE decode`);
  const totalMs = performance.now() - ts;
  log(`${label}: ${(totalMs / 1000).toFixed(2)} s, median step ${round(median(stepTimes))} ms`);
  return { totalMs, stepMs: stepTimes, runs: [...probe.runs], pipelineTimings: out.timings };
}

function folderBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name)); // follows links: weights may be linked in
    n += st.isDirectory() ? folderBytes(join(dir, name)) : st.size;
  }
  return n;
}

function deviceAdapter(): string {
  const info = (probe.device as (GPUDevice & { adapterInfo?: GPUAdapterInfo }) | null)?.adapterInfo;
  return info ? [info.vendor, info.architecture, info.device, info.description].filter((x) => x).join(' ') : 'unknown adapter';
}

const byName = (runs: RunRecord[], name: string): RunRecord[] => runs.filter((r) => r.name === name);
const callMs = (r: RunRecord): number => (r.gpuDone ?? r.resolved) - r.start;

// 1. cold
probe.sync = false;
const cold = await generate('generation 1 (cold)', true);
const firstRuns: Record<string, number | null> = {};
for (const name of ['text_encoder', 'unet', 'vae_decoder']) {
  const r = byName(cold.runs, name)[0];
  firstRuns[name] = r ? round(r.resolved - r.start) : null;
}

// 2. warm, free-running
const warm: GenerationResult[] = [];
for (let i = 0; i < warmRuns; i++) warm.push(await generate(`generation ${i + 2} (warm)`));

// 3. warm, sync mode (+ one profiled UNet call)
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
const synced = await generate('generation (sync: GPU waited after every run)');
probe.sync = false;
if (args.profile) {
  profileReport = profiler.report();
  log(`profile: ${profileReport.dispatches} dispatches, ${round(profileReport.totalKernelMs)} ms kernel time; top:`);
  for (const k of profileReport.byKernel.slice(0, 12)) {
    log(`  ${k.name.padEnd(48)} ${String(round(k.ms)).padStart(8)} ms ${String(k.calls).padStart(5)}× ${(k.share * 100).toFixed(1)}%`);
  }
}

const unetSync = byName(synced.runs, 'unet').filter((r) => !r.profiled);
const allUnet = byName(synced.runs, 'unet');
const gaps: number[] = [];
for (let i = 0; i + 1 < allUnet.length; i++) {
  if (allUnet[i].profiled || allUnet[i + 1].profiled) continue;
  gaps.push(allUnet[i + 1].start - (allUnet[i].gpuDone ?? allUnet[i].resolved));
}
const warmTotals = warm.map((w) => w.totalMs);
const warmSteps = warm.flatMap((w) => w.stepMs.slice(1)); // the first callback interval includes the text encoder
const warmUnetFree = warm.flatMap((w) => byName(w.runs, 'unet'));
const unetMedian = median(unetSync.map(callMs));
const gapMedian = median(gaps);
const heap = wasmHeapBytes();
const mem = process.memoryUsage();
const gpuReport = gpuMem.stop();

const result = {
  label: args.label,
  /** 'stand-in' while bench/lib/pipeline-under-test.ts drives the pieces itself (see there). */
  pipelineKind: pipeline.kind,
  what: 'our TypeScript pipeline (src/pipeline + src/runtime/ort.ts) on onnxruntime-web WebGPU (native EP), Node + Dawn',
  weights: 'random-full (architecture only, random weights): timings only',
  date: new Date().toISOString(),
  node: process.version,
  ort: ort.env.versions,
  adapter: pipeline.kind === 'stand-in' ? pipeline.adapter : deviceAdapter(),
  modelLine: pipeline.summary,
  vulkanDriver: nodeGpu.driver,
  deviceFeatures: probe.device ? [...probe.device.features].sort() : null,
  options: { steps, guidance: gen.guidance, scheduler: gen.scheduler, warmRuns, turbofan: args.turbofan, unetOptions, epOptions, profile: args.profile, ...device },
  modelDtype: pipelineDtype,
  image: pipeline.image,
  load: {
    totalMs: round(pipeline.loadMs),
    sessions: probe.creates.map((c) => ({ ...c, ms: round(c.ms) })),
  },
  cold: {
    totalMs: round(cold.totalMs),
    firstRunMs: firstRuns,
    startupMs: round(pipeline.loadMs + cold.totalMs),
  },
  warm: {
    totalMs: summary(warmTotals),
    stepMs: summary(warmSteps),
    unetCallCpuMs: summary(warmUnetFree.map((r) => r.resolved - r.start)),
    pipelineTimings: warm[warm.length - 1]?.pipelineTimings ?? null,
  },
  sync: {
    totalMs: round(synced.totalMs),
    textEncoderMs: summary(byName(synced.runs, 'text_encoder').map(callMs)),
    unetMs: summary(unetSync.map(callMs)),
    unetCpuSideMs: summary(unetSync.map((r) => r.resolved - r.start)),
    betweenUnetMs: summary(gaps),
    betweenUnetShareOfStep: unetMedian && gapMedian !== null ? round(gapMedian / (unetMedian + gapMedian), 4) : null,
    vaeDecodeMs: summary(byName(synced.runs, 'vae_decoder').map(callMs)),
    shapes: Object.fromEntries(['text_encoder', 'unet', 'vae_decoder'].map((n) => [n, byName(synced.runs, n)[0]?.shapes ?? null])),
    callsPerSession: Object.fromEntries(['text_encoder', 'unet', 'vae_decoder'].map((n) => [n, byName(synced.runs, n).length])),
  },
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
await pipeline.dispose();
uninstallNodeWebGPU();
process.exit(0);
