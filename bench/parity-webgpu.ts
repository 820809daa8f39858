/**
 * Parity on the kernels users actually get (issue 11 §4): our pipeline on a real GPU through Dawn,
 * with the app's runtime decisions (subgroups 'auto', the fused-attention self-test, the memory
 * policy for the adapter), against diffusers. The WebGPU tests run the same golden cases on
 * SwiftShader with subgroups off, where ORT takes other code paths (no subgroup kernels, no flash
 * attention); this is the same check where those paths run. Prints figures, writes JSON (and a
 * markdown table); exits 1 when anything is outside its bound, 2 on bad arguments.
 *
 *   node .carry/bench/parity-webgpu.mjs [--goldens DIR] [--tiny-models DIR] [--sets a,b] [--cases a,b]
 *        [--tolerance X] [--no-trajectory] [--skip-goldens]
 *        [--fullsize DIR --models EXPORT [--int8-models EXPORT]] [--memory auto|resident|staged]
 *        [--out FILE.json] [--md FILE.md]
 *   node .carry/bench/parity-webgpu.mjs --merge A.json B.json ... --out FILE.json [--md FILE.md]
 *
 * Bundled first (`node bench/build-device-bundle.mjs --bundle-only`: tsx cannot load the shaders'
 * `?raw` imports); on the GPU machine bench/run-device-parity.sh runs it.
 *
 * 1. Golden cases (default): every case of test/fixtures/goldens/<set> through Ldm3dPipeline on the
 *    model of the same name under --tiny-models (ldm3d-pano: float32; -f16, -int8: narrowed weights,
 *    against diffusers with the same rounded weights), with the tests' loading and comparison code
 *    (test/pipeline/golden-run.ts) and the tests' bound (TOLERANCE, 2e-3 max abs on [0, 1] for RGB
 *    and depth), plus the timesteps and token counts the tests check. The latents after every step
 *    are compared too (relative to the trajectory's scale) and reported, not gated, as in the WebGPU
 *    tests. ldm3d-sr: the tiny LDM3D-SR goldens through Ldm3dSrPipeline (ldm3d-sr-golden-run.ts),
 *    with the SR WebGPU test's bounds (RGB, depth 2e-3; latents after every step 1e-3 max abs).
 *    --tolerance only exists to show the stage can fail (a bound nothing meets).
 * 2. --fullsize DIR (bench/parity_fullsize.py's output: PyTorch fp32, TF32 off, on the random-full
 *    weights that `models/export.py --random-full` exports, same seed) with --models (that export):
 *    the text encoder on torch's token ids, the UNet (guidance batch 2, on torch's text-encoder
 *    output, so only the UNet is compared) at each reference timestep, the VAE decode, each as its
 *    own stage on a runtime made as the app makes it; then Ldm3dPipeline.generate from torch's
 *    initial latents (our tokenizer and text encoder included, DDIM, the reference's steps and
 *    guidance, untiled VAE as the reference), with the latents after every step. Errors: max abs
 *    and max abs / std of the reference (rel). Bounds: docs/performance.md "Parity on the GPU".
 *    --int8-models: the same against torch with the int8-rounded weights (DIR/int8), when
 *    parity_fullsize.py made them (--int8).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web/webgpu';
import { folderSource } from '../src/node/folder-source';
import { readModelFile, TOKENIZER_FILES } from '../src/pipeline/model-files';
import type { Manifest, ModelSource } from '../src/model/manifest';
import { readNpy } from '../src/node/npy';
import { Ldm3dPipeline, type MemoryPolicy } from '../src/pipeline/pano/pipeline';
import { TextEncoderStage } from '../src/pipeline/stages/text-encoder';
import { UNetStage } from '../src/pipeline/stages/unet';
import { VaeDecoderStage } from '../src/pipeline/stages/vae-decoder';
import { ClipTokenizer } from '../src/pipeline/tokenizer';
import { installNodeWebGPU, uninstallNodeWebGPU } from '../src/node/webgpu';
import { cpuTensor, OrtRuntime, type AttentionAttempt, type SubgroupState } from '../src/runtime/ort';
import { Ldm3dSrPipeline } from '../src/pipeline/sr/pipeline';
import { loadCases, type GoldenSet } from '../test/pipeline/goldens';
import { caseMismatches, runGoldenCase, TOLERANCE } from '../test/pipeline/golden-run';
import { loadSrCases, runSrGoldenCase } from '../test/pipeline/ldm3d-sr-golden-run';

const PANO_SETS: readonly GoldenSet[] = ['ldm3d-pano', 'ldm3d-pano-f16', 'ldm3d-pano-int8'];
/** The tiny LDM3D-SR goldens (models/tiny/ldm3d-sr, the Sharpen upscaler): Ldm3dSrPipeline, not Ldm3dPipeline. */
const SR_SET = 'ldm3d-sr';
const ALL_SETS: readonly string[] = [...PANO_SETS, SR_SET];
/** The SR WebGPU test's bound on its latents after every step (absolute max abs). */
const SR_LATENTS_BOUND = 1e-3;

/**
 * Full-size bounds on max abs / std of the reference (docs/performance.md "Parity on the GPU" says
 * why): one call of a float32 network on other kernels (reduction order, flash attention's online
 * softmax) against strict fp32 PyTorch differs by ~1e-6 per op relative, ~1e-5–1e-4 at the output;
 * a real fault (a wrong layout, attention on the wrong keys, a dropped op) is ≥ 1e-1. The 20-step
 * run's bound is the one-call bound carried through the growth PyTorch itself measures for its own
 * trajectory (parity_fullsize.py injects noise into every UNet output); without that figure, a
 * fixed fallback.
 */
const FULL_BOUNDS = { textEncoder: 1e-3, unet: 1e-3, vae: 1e-3, pipelineFallback: 5e-2 } as const;

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    goldens: { type: 'string', default: 'test/fixtures/goldens' },
    'tiny-models': { type: 'string', default: 'models/tiny' },
    sets: { type: 'string', default: ALL_SETS.join(',') },
    cases: { type: 'string' },
    tolerance: { type: 'string' },
    'no-trajectory': { type: 'boolean', default: false },
    'skip-goldens': { type: 'boolean', default: false },
    fullsize: { type: 'string' },
    models: { type: 'string' },
    'int8-models': { type: 'string' },
    memory: { type: 'string', default: 'auto' },
    merge: { type: 'boolean', default: false },
    out: { type: 'string' },
    md: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
const USAGE = [
  'usage: parity-webgpu [--goldens DIR] [--tiny-models DIR] [--sets ldm3d-pano,ldm3d-pano-f16,ldm3d-pano-int8,ldm3d-sr] [--cases a,b] [--tolerance X] [--no-trajectory] [--skip-goldens]',
  '                     [--fullsize DIR --models EXPORT [--int8-models EXPORT]] [--memory auto|resident|staged] [--out FILE.json] [--md FILE.md]',
  '       parity-webgpu --merge A.json B.json ... --out FILE.json [--md FILE.md]',
].join('\n');
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const t0 = performance.now();
const log = (...a: unknown[]): void => console.log(`[parity ${((performance.now() - t0) / 1000).toFixed(1)}s]`, ...a);

// ---------------------------------------------------------------------------------------------
// Report

interface RuntimeInfo {
  readonly summary: string;
  readonly adapter: string;
  readonly subgroups: SubgroupState | null;
  readonly attentionChecks: readonly AttentionAttempt[];
  readonly features: readonly string[];
  readonly notices: readonly string[];
}

interface GoldenCaseResult {
  readonly name: string;
  readonly scheduler: string;
  readonly steps: number;
  readonly guidance: number;
  readonly rgbMaxAbs: number;
  readonly depthMaxAbs: number;
  /**
   * Latents after every step: pano, max abs / max(1, max |reference|), reported, not gated (as the
   * pano WebGPU tests); SR, max abs, gated by SR_LATENTS_BOUND (as the SR WebGPU test).
   */
  readonly latents: number | null;
  readonly latentsBound: number | null;
  /** SR only: the VAE-encoded low-res latents, max abs (reported, as in the SR tests). */
  readonly lowResMaxAbs?: number;
  readonly mismatches: readonly string[];
  readonly pass: boolean;
}

interface GoldenSetResult {
  readonly set: string;
  readonly models: string;
  readonly runtime: RuntimeInfo | null;
  readonly memory: string | null;
  readonly cases: readonly GoldenCaseResult[];
  readonly error: string | null;
}

/** max |ours − reference| and that over the reference's (population) standard deviation. */
interface Err {
  readonly maxAbs: number;
  readonly refStd: number;
  readonly rel: number;
  readonly meanAbs: number;
}

interface Gated extends Err {
  readonly bound: number;
  readonly pass: boolean;
}

interface Sensitivity {
  readonly eps: number;
  /** Mean over UNet calls of max |injected noise| / std(UNet output): the per-call error it stands for. */
  readonly injected_rel: number;
  readonly final_rel: number;
  readonly per_step_rel: readonly number[];
}

interface FullsizeResult {
  readonly label: string;
  readonly models: string;
  readonly reference: string;
  readonly runtime: RuntimeInfo | null;
  readonly tokenizerIdsEqual: boolean | null;
  readonly textEncoder: Gated | null;
  readonly unet: ReadonlyArray<Gated & { readonly timestep: number }>;
  readonly vae: Gated | null;
  readonly pipeline: {
    readonly memory: string;
    readonly guidanceBatch: string;
    readonly steps: number;
    readonly guidance: number;
    readonly perStep: readonly Err[];
    readonly finalLatents: Gated;
    readonly rgb: Err;
    readonly depth: Err;
    /** final rel / per-call rel, from PyTorch's own noise-injection runs (median over levels). */
    readonly growth: number | null;
    /** growth × this run's worst UNet rel: where the run should end if the UNet's error were all. */
    readonly predictedFinalRel: number | null;
    readonly torchRunToRunRel: number | null;
  } | null;
  readonly errors: readonly string[];
}

interface Report {
  readonly what: string;
  readonly date: string;
  readonly node: string;
  readonly ort: unknown;
  readonly vulkanDriver: string | null;
  readonly goldens: { readonly tolerance: number; readonly root: string; readonly sets: readonly GoldenSetResult[] } | null;
  readonly fullsize: readonly FullsizeResult[];
  readonly torchMeta: unknown;
  readonly failures: readonly string[];
  readonly pass: boolean;
}

function errOf(got: ArrayLike<number>, want: ArrayLike<number>): Err {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs reference ${want.length}`);
  let max = 0;
  let sumAbs = 0;
  let sum = 0;
  for (let i = 0; i < want.length; i++) sum += want[i];
  const mean = sum / want.length;
  let sq = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    // NaN must not hide: Math.max(x, NaN) is NaN, and NaN fails every bound below.
    max = Number.isNaN(d) ? NaN : Math.max(max, d);
    sumAbs += d;
    sq += (want[i] - mean) ** 2;
  }
  const refStd = Math.sqrt(sq / want.length);
  return { maxAbs: max, refStd, rel: max / refStd, meanAbs: sumAbs / want.length };
}

function gate(e: Err, bound: number): Gated {
  return { ...e, bound, pass: e.rel <= bound };
}

function median(xs: readonly number[]): number | null {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : Number.isNaN(x) ? 'NaN' : x === 0 ? '0' : x.toExponential(2));

function runtimeInfoOf(rt: OrtRuntime, summary: string, notices: readonly string[]): RuntimeInfo {
  return {
    summary,
    adapter: rt.adapter,
    subgroups: rt.subgroups,
    attentionChecks: rt.attentionChecks,
    features: rt.device ? [...rt.device.features].sort() : [],
    notices,
  };
}

/** The runtime a pipeline owns (private): read here for the report only. */
function runtimeOf(p: Ldm3dPipeline | Ldm3dSrPipeline): OrtRuntime {
  return (p as unknown as { runtime: OrtRuntime }).runtime;
}

const reasonOf = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

// ---------------------------------------------------------------------------------------------
// 1. golden cases

async function goldenStage(root: URL, tolerance: number, memory: MemoryPolicy | 'auto'): Promise<GoldenSetResult[]> {
  const sets = args.sets.split(',').map((s) => s.trim()).filter((s) => s);
  const only = args.cases ? new Set(args.cases.split(',').map((s) => s.trim())) : null;
  const results: GoldenSetResult[] = [];
  for (const name of sets) {
    if (!ALL_SETS.includes(name)) throw new UsageError(`unknown golden set ${name}; known: ${ALL_SETS.join(', ')}`);
    if (name === SR_SET) {
      results.push(await srGoldenSet(root, tolerance, only));
      continue;
    }
    const set = name as GoldenSet;
    const models = join(args['tiny-models'], name);
    const cases: GoldenCaseResult[] = [];
    let runtime: RuntimeInfo | null = null;
    let policy: string | null = null;
    let pipe: Ldm3dPipeline | null = null;
    try {
      pipe = await Ldm3dPipeline.load(await folderSource(models), { backend: 'webgpu', memory });
      runtime = runtimeInfoOf(runtimeOf(pipe), pipe.runtimeSummary, pipe.notices);
      policy = pipe.memory;
      log(`${set}: ${pipe.runtimeSummary}`);
      for (const c of loadCases(set, root).cases) {
        if (only && !only.has(c.name)) continue;
        const r = await runGoldenCase(pipe, c, { trajectory: !args['no-trajectory'], set, root });
        const mismatches = caseMismatches(r);
        const e = r.errors;
        // `<=` is false for NaN, so a NaN output fails.
        const pass = e.rgb <= tolerance && e.depth <= tolerance && mismatches.length === 0;
        cases.push({
          name: c.name,
          scheduler: c.scheduler,
          steps: c.num_inference_steps,
          guidance: c.guidance_scale,
          rgbMaxAbs: e.rgb,
          depthMaxAbs: e.depth,
          latents: Number.isNaN(e.latents) && args['no-trajectory'] ? null : e.latents,
          latentsBound: null,
          mismatches,
          pass,
        });
        log(`${set} ${c.name}: rgb ${fmt(e.rgb)} depth ${fmt(e.depth)} latents ${fmt(e.latents)} (bound ${fmt(tolerance)}) ${pass ? 'PASS' : 'FAIL'}${mismatches.length ? ` — ${mismatches.join('; ')}` : ''}`);
      }
      results.push({ set, models, runtime, memory: policy, cases, error: null });
    } catch (e) {
      if (e instanceof UsageError) throw e;
      log(`${set}: failed: ${reasonOf(e)}`);
      results.push({ set, models, runtime, memory: policy, cases, error: reasonOf(e) });
    } finally {
      await pipe?.dispose();
    }
  }
  return results;
}

async function srGoldenSet(root: URL, tolerance: number, only: ReadonlySet<string> | null): Promise<GoldenSetResult> {
  const models = join(args['tiny-models'], SR_SET);
  const srRoot = new URL(`${SR_SET}/`, root);
  const cases: GoldenCaseResult[] = [];
  let runtime: RuntimeInfo | null = null;
  let pipe: Ldm3dSrPipeline | null = null;
  try {
    pipe = await Ldm3dSrPipeline.load(await folderSource(models), { backend: 'webgpu' });
    const rt = runtimeOf(pipe);
    runtime = runtimeInfoOf(rt, rt.summary, pipe.notices);
    log(`${SR_SET}: ${rt.summary}`);
    for (const c of loadSrCases(srRoot)) {
      if (only && !only.has(c.name)) continue;
      const r = await runSrGoldenCase(pipe, c, srRoot);
      const same = r.timesteps.length === r.expectedTimesteps.length && r.timesteps.every((t, i) => t === r.expectedTimesteps[i]);
      const mismatches = same ? [] : [`timesteps [${r.timesteps.join(', ')}], diffusers [${r.expectedTimesteps.join(', ')}]`];
      const e = r.errors;
      const pass = e.rgb <= tolerance && e.depth <= tolerance && e.latents < SR_LATENTS_BOUND && mismatches.length === 0;
      cases.push({
        name: c.name,
        scheduler: 'ddim',
        steps: c.num_inference_steps,
        guidance: c.guidance_scale,
        rgbMaxAbs: e.rgb,
        depthMaxAbs: e.depth,
        latents: e.latents,
        latentsBound: SR_LATENTS_BOUND,
        lowResMaxAbs: e.lowRes,
        mismatches,
        pass,
      });
      log(`${SR_SET} ${c.name}: rgb ${fmt(e.rgb)} depth ${fmt(e.depth)} latents ${fmt(e.latents)} (bound ${fmt(SR_LATENTS_BOUND)}) low-res ${fmt(e.lowRes)} (bound ${fmt(tolerance)}) ${pass ? 'PASS' : 'FAIL'}`);
    }
    return { set: SR_SET, models, runtime, memory: null, cases, error: null };
  } catch (e) {
    log(`${SR_SET}: failed: ${reasonOf(e)}`);
    return { set: SR_SET, models, runtime, memory: null, cases, error: reasonOf(e) };
  } finally {
    await pipe?.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. full size, random weights, against PyTorch fp32 (TF32 off)

interface TorchMeta {
  prompt: string;
  negative_prompt: string | null;
  height: number;
  width: number;
  steps: number;
  guidance: number;
  scheduler: 'ddim';
  timesteps: number[];
  unet: { timesteps: number[]; sample: string; encoder_hidden_states: string };
  vae: { latents: string };
  text_encoder: { input_ids: string };
  pipeline: { latents: string };
  /** Reference folders (outputs) by label: fp32, and int8 when made. */
  references: Record<string, { dir: string; min_elements?: number; sensitivity?: Sensitivity[]; run_to_run_final_rel?: number }>;
  [k: string]: unknown;
}

class FullsizeDir {
  constructor(readonly dir: string) {}
  f32(file: string): { data: Float32Array; shape: number[] } {
    const a = readNpy(new Uint8Array(readFileSync(join(this.dir, file))));
    if (!(a.data instanceof Float32Array)) throw new Error(`${file}: expected float32, got ${a.descr}`);
    return { data: a.data, shape: a.shape };
  }
  i64(file: string): { data: BigInt64Array; shape: number[] } {
    const a = readNpy(new Uint8Array(readFileSync(join(this.dir, file))));
    if (!(a.data instanceof BigInt64Array)) throw new Error(`${file}: expected int64, got ${a.descr}`);
    return { data: a.data, shape: a.shape };
  }
}

function narrowStorageOf(m: Manifest): 'float16-widened' | 'int8-per-channel' | undefined {
  const s = m.weight_storage;
  return s === 'float16-widened' || s === 'int8-per-channel' ? s : undefined;
}

async function ourTokenIds(source: ModelSource, texts: readonly string[]): Promise<BigInt64Array[]> {
  const [json, config] = await Promise.all(TOKENIZER_FILES.map((f) => readModelFile(source, f)));
  const tok = ClipTokenizer.fromFiles(json, config, source.manifest.text.max_length);
  return texts.map((t) => tok.encode(t).ids);
}

async function fullsizeStage(label: string, modelsDir: string, dir: FullsizeDir, meta: TorchMeta, memory: MemoryPolicy | 'auto'): Promise<FullsizeResult> {
  const ref = meta.references[label];
  if (!ref) throw new Error(`${dir.dir}/meta.json has no "${label}" reference (parity_fullsize.py ${label === 'int8' ? '--int8' : ''})`);
  const refDir = new FullsizeDir(join(dir.dir, ref.dir));
  const source = await folderSource(modelsDir);
  const manifest = source.manifest;
  const errors: string[] = [];
  const minElements = manifest.weight_storage === 'int8-per-channel' ? narrowMinElements(modelsDir) : undefined;
  if (label === 'int8' && ref.min_elements !== undefined && minElements !== undefined && ref.min_elements !== minElements) {
    errors.push(`the int8 export rounds weights of ≥ ${minElements} values, the torch reference ≥ ${ref.min_elements}: not the same weights`);
  }
  let runtimeInfo: RuntimeInfo | null = null;
  let tokenizerIdsEqual: boolean | null = null;
  let textEncoder: Gated | null = null;
  const unet: Array<Gated & { timestep: number }> = [];
  let vae: Gated | null = null;

  // Each stage on its own, on a runtime made as Ldm3dPipeline.load makes it (subgroups 'auto', the
  // fused-attention self-test for mha exports, the weight self-test for narrowed ones).
  const runtime = await OrtRuntime.create({ backend: 'webgpu', verifyAttention: manifest.attention === 'mha', verifyWeights: narrowStorageOf(manifest) });
  try {
    runtimeInfo = runtimeInfoOf(runtime, runtime.summary, runtime.notice ? [runtime.notice] : []);
    log(`${label}: ${runtime.summary}`);
    const ids = dir.i64(meta.text_encoder.input_ids);
    const [batch, length] = ids.shape;
    const rows = Array.from({ length: batch }, (_, b) => ids.data.slice(b * length, (b + 1) * length));
    try {
      const ours = await ourTokenIds(source, [meta.negative_prompt ?? '', meta.prompt]);
      tokenizerIdsEqual = ours.length === rows.length && ours.every((r, b) => r.length === rows[b].length && r.every((v, i) => v === rows[b][i]));
    } catch (e) {
      errors.push(`tokenizer: ${reasonOf(e)}`);
    }
    try {
      const te = await TextEncoderStage.load(runtime, source);
      try {
        const out = await te.encode(rows, length);
        textEncoder = gate(errOf(out.data, refDir.f32('te.out.npy').data), FULL_BOUNDS.textEncoder);
        log(`${label} text encoder: max abs ${fmt(textEncoder.maxAbs)}, rel ${fmt(textEncoder.rel)} (bound ${fmt(textEncoder.bound)})`);
      } finally {
        await te.dispose();
      }
    } catch (e) {
      errors.push(`text encoder: ${reasonOf(e)}`);
    }
    try {
      const sample = dir.f32(meta.unet.sample);
      const hidden = refDir.f32('te.out.npy');
      const [b, , h, w] = sample.shape;
      const stage = await UNetStage.load(runtime, source, { shape: { batch: b, latentHeight: h, latentWidth: w } });
      try {
        for (const t of meta.unet.timesteps) {
          // false: the references are unpatched diffusers (zero padding), also for a wrapped export.
          const out = await stage.run(cpuTensor('float32', sample.data, sample.shape), t, cpuTensor('float32', hidden.data, hidden.shape), false);
          try {
            const got = (await out.getData()) as Float32Array;
            const e = { ...gate(errOf(got, refDir.f32(`unet.t${t}.out.npy`).data), FULL_BOUNDS.unet), timestep: t };
            unet.push(e);
            log(`${label} UNet t=${t}: max abs ${fmt(e.maxAbs)}, rel ${fmt(e.rel)} (bound ${fmt(e.bound)})`);
          } finally {
            out.dispose();
          }
        }
      } finally {
        await stage.dispose();
      }
    } catch (e) {
      errors.push(`unet: ${reasonOf(e)}`);
    }
    try {
      const latents = dir.f32(meta.vae.latents);
      const stage = await VaeDecoderStage.load(runtime, source);
      try {
        const out = await stage.decode(cpuTensor('float32', latents.data, latents.shape));
        vae = gate(errOf(out.data, refDir.f32('vae.out.npy').data), FULL_BOUNDS.vae);
        log(`${label} VAE decode: max abs ${fmt(vae.maxAbs)}, rel ${fmt(vae.rel)} (bound ${fmt(vae.bound)})`);
      } finally {
        await stage.dispose();
      }
    } catch (e) {
      errors.push(`vae decoder: ${reasonOf(e)}`);
    }
  } finally {
    await runtime.dispose();
  }

  // The whole pipeline, as the app runs it on this adapter, from the reference's initial latents.
  let pipeline: FullsizeResult['pipeline'] = null;
  let pipe: Ldm3dPipeline | null = null;
  try {
    // Untiled: the reference decodes untiled, and tiling changes the image by design (vae-tiling.ts).
    pipe = await Ldm3dPipeline.load(source, { backend: 'webgpu', memory, vaeTiling: 'off' });
    const trajectory = refDir.f32('pipe.trajectory.npy');
    const stepSize = trajectory.shape.slice(1).reduce((a, b) => a * b, 1);
    const perStep: Err[] = [];
    const out = await pipe.generate({
      prompt: meta.prompt,
      negativePrompt: meta.negative_prompt,
      steps: meta.steps,
      guidance: meta.guidance,
      scheduler: meta.scheduler,
      latents: dir.f32(meta.pipeline.latents).data,
      height: meta.height,
      width: meta.width,
      preview: false,
      onStepLatents: (step, x) => {
        perStep.push(errOf(x, trajectory.data.subarray((step - 1) * stepSize, step * stepSize)));
      },
    });
    const same = out.settings.timesteps.length === meta.timesteps.length && out.settings.timesteps.every((t, i) => t === Math.fround(meta.timesteps[i]));
    if (!same) errors.push(`pipeline timesteps [${out.settings.timesteps.join(', ')}], torch [${meta.timesteps.join(', ')}]`);
    const finalErr = perStep[perStep.length - 1] ?? { maxAbs: NaN, refStd: NaN, rel: NaN, meanAbs: NaN };
    // Growth of a per-call error through the run, as PyTorch's own trajectory amplifies it.
    // (the int8 reference has none of its own: the growth is the trajectory's, taken from fp32)
    const sensitivity = ref.sensitivity ?? meta.references.fp32?.sensitivity ?? [];
    const growths = sensitivity.filter((s) => s.injected_rel > 0).map((s) => s.final_rel / s.injected_rel);
    const growth = median(growths);
    const worstUnet = unet.length ? Math.max(...unet.map((u) => u.rel)) : null;
    const bound = growth !== null ? Math.max(growth, 1) * FULL_BOUNDS.unet : FULL_BOUNDS.pipelineFallback;
    pipeline = {
      memory: pipe.memory,
      guidanceBatch: pipe.guidanceBatch,
      steps: meta.steps,
      guidance: meta.guidance,
      perStep,
      finalLatents: gate(finalErr, bound),
      rgb: errOf(out.rgbFloat, refDir.f32('pipe.rgb.npy').data),
      depth: errOf(out.depth, refDir.f32('pipe.depth.npy').data),
      growth,
      predictedFinalRel: growth !== null && worstUnet !== null ? growth * worstUnet : null,
      torchRunToRunRel: ref.run_to_run_final_rel ?? meta.references.fp32?.run_to_run_final_rel ?? null,
    };
    log(
      `${label} ${meta.steps}-step run (${pipe.memory}, guidance ${pipe.guidanceBatch}): final latents max abs ${fmt(finalErr.maxAbs)}, rel ${fmt(finalErr.rel)} ` +
        `(bound ${fmt(bound)}; growth ${fmt(growth)}, predicted ${fmt(pipeline.predictedFinalRel)}); rgb ${fmt(pipeline.rgb.maxAbs)} depth ${fmt(pipeline.depth.maxAbs)}`,
    );
  } catch (e) {
    errors.push(`pipeline: ${reasonOf(e)}`);
  } finally {
    await pipe?.dispose();
  }
  return { label, models: modelsDir, reference: refDir.dir, runtime: runtimeInfo, tokenizerIdsEqual, textEncoder, unet, vae, pipeline, errors };
}

function narrowMinElements(modelsDir: string): number | undefined {
  const p = join(modelsDir, 'narrow-report.json');
  if (!existsSync(p)) return undefined;
  const v = (JSON.parse(readFileSync(p, 'utf8')) as { min_elements?: unknown }).min_elements;
  return typeof v === 'number' ? v : undefined;
}

// ---------------------------------------------------------------------------------------------
// Verdict and tables

function failuresOf(r: Pick<Report, 'goldens' | 'fullsize'>): string[] {
  const out: string[] = [];
  for (const s of r.goldens?.sets ?? []) {
    if (s.error) out.push(`${s.set}: ${s.error}`);
    for (const c of s.cases) {
      if (c.pass) continue;
      const latents = c.latentsBound !== null ? `, latents ${fmt(c.latents)} (bound ${fmt(c.latentsBound)})` : '';
      out.push(`${s.set} ${c.name}: rgb ${fmt(c.rgbMaxAbs)} depth ${fmt(c.depthMaxAbs)} (bound ${fmt(r.goldens!.tolerance)})${latents}${c.mismatches.length ? `; ${c.mismatches.join('; ')}` : ''}`);
    }
  }
  for (const f of r.fullsize) {
    for (const e of f.errors) out.push(`full size ${f.label}: ${e}`);
    if (f.tokenizerIdsEqual === false) out.push(`full size ${f.label}: our tokenizer's ids differ from torch's`);
    const gated: Array<[string, Gated | null]> = [
      ['text encoder', f.textEncoder],
      ...f.unet.map((u): [string, Gated] => [`UNet t=${u.timestep}`, u]),
      ['VAE decode', f.vae],
      [`${f.pipeline?.steps ?? '?'}-step final latents`, f.pipeline?.finalLatents ?? null],
    ];
    for (const [what, g] of gated) if (g && !g.pass) out.push(`full size ${f.label} ${what}: rel ${fmt(g.rel)} > ${fmt(g.bound)}`);
  }
  return out;
}

function markdown(r: Report): string {
  const lines: string[] = [`# Parity on the GPU (${r.date})`, '', r.pass ? '**PASS**' : `**FAIL**: ${r.failures.length} item(s)`, ''];
  for (const f of r.failures) lines.push(`- ${f}`);
  if (r.goldens) {
    lines.push('', `## Tiny golden cases (bound ${fmt(r.goldens.tolerance)} max abs on [0, 1], the WebGPU tests' bound)`, '');
    for (const s of r.goldens.sets) {
      lines.push(`**${s.set}** (${s.models}; memory ${s.memory ?? '–'}): ${s.runtime?.summary ?? s.error ?? ''}`, '');
      const sr = s.set === SR_SET;
      const latentsHead = sr ? `latents max abs (bound ${fmt(SR_LATENTS_BOUND)})` : 'latents (rel, not gated)';
      lines.push(`| case | scheduler, steps, guidance | RGB max abs | depth max abs | ${latentsHead} | result |`, '|---|---|---|---|---|---|');
      for (const c of s.cases) {
        lines.push(`| ${c.name} | ${c.scheduler}, ${c.steps}, ${c.guidance} | ${fmt(c.rgbMaxAbs)} | ${fmt(c.depthMaxAbs)} | ${fmt(c.latents)} | ${c.pass ? 'pass' : `**FAIL**${c.mismatches.length ? ` (${c.mismatches.join('; ')})` : ''}`} |`);
      }
      lines.push('');
    }
  }
  for (const f of r.fullsize) {
    const against = f.label === 'int8' ? 'PyTorch fp32 (TF32 off) with the same int8-rounded weights' : 'PyTorch fp32 (TF32 off)';
    lines.push(`## Full size, random weights: ${f.label} export vs ${against}`, '');
    if (f.runtime) lines.push(`${f.models}: ${f.runtime.summary}`, '');
    if (f.textEncoder || f.unet.length || f.vae || f.pipeline) lines.push('| stage | max abs | std of reference | max abs / std | bound | result |', '|---|---|---|---|---|---|');
    const row = (what: string, g: Gated | null): void => {
      if (g) lines.push(`| ${what} | ${fmt(g.maxAbs)} | ${fmt(g.refStd)} | ${fmt(g.rel)} | ${fmt(g.bound)} | ${g.pass ? 'pass' : '**FAIL**'} |`);
    };
    row('text encoder (torch ids)', f.textEncoder);
    for (const u of f.unet) row(`UNet, batch 2, t=${u.timestep} (torch embeddings)`, u);
    row('VAE decode', f.vae);
    const p = f.pipeline;
    if (p) {
      row(`${p.steps}-step DDIM, guidance ${p.guidance}: final latents`, p.finalLatents);
      lines.push(`| ${p.steps}-step: RGB [0, 1] | ${fmt(p.rgb.maxAbs)} | ${fmt(p.rgb.refStd)} | ${fmt(p.rgb.rel)} | – | |`);
      lines.push(`| ${p.steps}-step: depth [0, 1] | ${fmt(p.depth.maxAbs)} | ${fmt(p.depth.refStd)} | ${fmt(p.depth.rel)} | – | |`);
      lines.push('', `Pipeline: memory ${p.memory}, guidance ${p.guidanceBatch}; tokenizer ids equal torch's: ${f.tokenizerIdsEqual ?? '–'}.`);
      lines.push(
        `Growth of a per-call error through the run (PyTorch, noise injected into every UNet output): ×${fmt(p.growth)}; ` +
          `predicted final rel from this run's UNet error: ${fmt(p.predictedFinalRel)}; PyTorch run-to-run: ${fmt(p.torchRunToRunRel)}.`,
      );
      lines.push('', `Latents after each step, max abs / std: ${p.perStep.map((e) => fmt(e.rel)).join(', ')}`);
    }
    for (const e of f.errors) lines.push(`- error: ${e}`);
    lines.push('');
  }
  return lines.join('\n') + '\n';
}

class UsageError extends Error {}

function finish(r: Omit<Report, 'failures' | 'pass'>): never {
  const failures = failuresOf(r);
  const report: Report = { ...r, failures, pass: failures.length === 0 };
  const json = JSON.stringify(report, null, 2) + '\n';
  if (args.out) writeFileSync(args.out, json);
  const md = markdown(report);
  if (args.md) writeFileSync(args.md, md);
  console.log(`\n${md}`);
  process.exit(report.pass ? 0 : 1);
}

// ---------------------------------------------------------------------------------------------
// main

if (args.merge) {
  if (!positionals.length || !args.out) {
    console.error(USAGE);
    process.exit(2);
  }
  const parts = positionals.filter((p) => existsSync(p)).map((p) => JSON.parse(readFileSync(p, 'utf8')) as Report);
  const missing = positionals.filter((p) => !existsSync(p));
  const goldenParts = parts.filter((p) => p.goldens);
  finish({
    what: parts[0]?.what ?? 'parity',
    date: new Date().toISOString(),
    node: process.version,
    ort: parts[0]?.ort ?? null,
    vulkanDriver: parts[0]?.vulkanDriver ?? null,
    goldens: goldenParts.length ? { tolerance: goldenParts[0].goldens!.tolerance, root: goldenParts[0].goldens!.root, sets: goldenParts.flatMap((p) => p.goldens!.sets) } : null,
    fullsize: [
      ...parts.flatMap((p) => p.fullsize),
      // A stage that never wrote its report failed: say so rather than pass without it.
      ...missing.map((m): FullsizeResult => ({ label: basename(m, '.json').replace(/^parity-/, ''), models: '', reference: '', runtime: null, tokenizerIdsEqual: null, textEncoder: null, unet: [], vae: null, pipeline: null, errors: [`no report in ${m} (the stage did not run or did not finish: see its log)`] })),
    ],
    torchMeta: parts.find((p) => p.torchMeta)?.torchMeta ?? null,
  });
}

const memory = args.memory as MemoryPolicy | 'auto';
if (!['auto', 'resident', 'staged'].includes(memory)) {
  console.error(`--memory wants auto, resident or staged, got ${args.memory}\n${USAGE}`);
  process.exit(2);
}
const tolerance = args.tolerance === undefined ? TOLERANCE : Number(args.tolerance);
if (!(tolerance >= 0)) {
  console.error(`--tolerance wants a number ≥ 0, got ${args.tolerance}`);
  process.exit(2);
}
if (args.fullsize && !args.models && !args['int8-models']) {
  console.error(`--fullsize needs --models (and/or --int8-models)\n${USAGE}`);
  process.exit(2);
}
// A directory URL needs its trailing slash, or `new URL('set/…', root)` would replace its last part.
const goldensRoot = pathToFileURL(resolve(args.goldens) + '/');

const nodeGpu = installNodeWebGPU();
log(`driver ${nodeGpu.driver}`);
let goldens: Report['goldens'] = null;
const fullsize: FullsizeResult[] = [];
let torchMeta: TorchMeta | null = null;
try {
  if (!args['skip-goldens']) goldens = { tolerance, root: goldensRoot.pathname, sets: await goldenStage(goldensRoot, tolerance, memory) };
  if (args.fullsize) {
    const dir = new FullsizeDir(args.fullsize);
    torchMeta = JSON.parse(readFileSync(join(args.fullsize, 'meta.json'), 'utf8')) as TorchMeta;
    const runs: Array<[string, string]> = [];
    if (args.models) runs.push(['fp32', args.models]);
    if (args['int8-models']) {
      if (torchMeta.references.int8) runs.push(['int8', args['int8-models']]);
      else log(`--int8-models given, but ${args.fullsize} has no int8 reference (parity_fullsize.py --int8): skipped`);
    }
    for (const [label, models] of runs) {
      try {
        fullsize.push(await fullsizeStage(label, models, dir, torchMeta, memory));
      } catch (e) {
        fullsize.push({ label, models, reference: '', runtime: null, tokenizerIdsEqual: null, textEncoder: null, unet: [], vae: null, pipeline: null, errors: [reasonOf(e)] });
      }
    }
  }
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  throw e;
}
uninstallNodeWebGPU();
finish({
  what: "our pipeline on onnxruntime-web WebGPU (Node + Dawn) with the app's runtime decisions, against diffusers",
  date: new Date().toISOString(),
  node: process.version,
  ort: ort.env.versions,
  vulkanDriver: nodeGpu.driver,
  goldens,
  fullsize,
  torchMeta,
});
