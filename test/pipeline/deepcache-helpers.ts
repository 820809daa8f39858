/**
 * Shared by deepcache.test.ts, deepcache.wasm.test.ts and deepcache.webgpu.test.ts:
 * - a synthetic DeepCache export (the tiny model with its UNet replaced by two small graphs built
 *   in memory) so the pipeline's DeepCache wiring is tested without the exported goldens: a full
 *   call returns out_sample and deep_features, a shallow call computes out_sample from the deep
 *   features it is given, exactly as the full call does from its own; a stale cache shows;
 * - a spy on the UNet stage's full / shallow / plain calls;
 * - the DeepCache goldens (models/goldens.py --deepcache: test/fixtures/goldens/ldm3d-pano-deepcache,
 *   the ldm3d-pano format plus a per-case deepcache_interval) and one case's run.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import { encodeModel, type OnnxNode } from '../../src/runtime/onnx-proto';
import type { RtTensor } from '../../src/runtime/ort';
import type { Manifest, ManifestFile, SessionSpec } from '../../src/model/manifest';
import { readNpy } from '../../src/node/npy';
import type { GenerateOptions, Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { UNetStage } from '../../src/pipeline/stages/unet';
import { maxAbsDiff, parsePythonJson, type GoldenCase } from './goldens';

export const PLAIN_MODEL = 'models/tiny/ldm3d-pano';
export const DEEPCACHE_MODEL = 'models/tiny/ldm3d-pano-deepcache';
export const DEEPCACHE_GOLDENS = new URL('../fixtures/goldens/ldm3d-pano-deepcache/', import.meta.url);


// ---- the synthetic DeepCache export ----

const f32 = (name: string, v: number) => ({ name, dims: [] as number[], data: new Float32Array([v]) });
const i64 = (name: string, v: readonly number[]) => ({ name, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)), type: 'int64' as const });

const SAMPLE = ['batch', 4, 'latent_height', 'latent_width'] as const;
const HIDDEN = ['batch', 77, 32] as const;
const FEATURES = ['batch', 8, 'latent_height', 'latent_width'] as const;

/** m = ehs[:, 1, :] · w, as [batch, 1, 1, 1]: makes each call's output depend on its own prompt. */
const PROMPT_TERM: OnnxNode[] = [
  { op: 'Slice', inputs: ['encoder_hidden_states', 'tok_start', 'tok_end', 'axis1'], outputs: ['tok'] },
  { op: 'MatMul', inputs: ['tok', 'w_tok'], outputs: ['m3'] },
  { op: 'Reshape', inputs: ['m3', 'shape_b111'], outputs: ['m'] },
];

/**
 * out_sample = 0.5·tanh(0.7·deep[:, :4] + 0.2·sample + m + 0.001·t): the "shallow branch",
 * the same nodes in both graphs, so a shallow call on fresh features equals the full call.
 */
const SHALLOW: OnnxNode[] = [
  { op: 'Slice', inputs: ['deep_features', 'ch_start', 'ch_end', 'axis1'], outputs: ['deep_head'] },
  { op: 'Mul', inputs: ['deep_head', 'c07'], outputs: ['s1'] },
  { op: 'Mul', inputs: ['sample', 'c02'], outputs: ['s2'] },
  { op: 'Add', inputs: ['s1', 's2'], outputs: ['s3'] },
  { op: 'Add', inputs: ['s3', 'm'], outputs: ['s4'] },
  { op: 'Mul', inputs: ['timestep', 'c0001'], outputs: ['t_small'] },
  { op: 'Add', inputs: ['s4', 't_small'], outputs: ['s5'] },
  { op: 'Tanh', inputs: ['s5'], outputs: ['s6'] },
  { op: 'Mul', inputs: ['s6', 'c05'], outputs: ['out_sample'] },
];

/** deep_features = concat(d, −d) on channels, d = tanh(sample·(0.5 + 0.001·t)) + m: the "deep branch". */
const DEEP: OnnxNode[] = [
  { op: 'Mul', inputs: ['timestep', 'c0001'], outputs: ['t_deep'] },
  { op: 'Add', inputs: ['t_deep', 'c05'], outputs: ['t_gain'] },
  { op: 'Mul', inputs: ['sample', 't_gain'], outputs: ['d1'] },
  { op: 'Tanh', inputs: ['d1'], outputs: ['d2'] },
  { op: 'Add', inputs: ['d2', 'm'], outputs: ['d'] },
  { op: 'Neg', inputs: ['d'], outputs: ['nd'] },
  { op: 'Concat', inputs: ['d', 'nd'], outputs: ['deep_features'], attributes: { axis: { int: 1 } } },
];

const INITIALIZERS = [
  f32('c07', 0.7),
  f32('c02', 0.2),
  f32('c05', 0.5),
  f32('c0001', 0.001),
  i64('tok_start', [1]),
  i64('tok_end', [2]),
  i64('ch_start', [0]),
  i64('ch_end', [4]),
  i64('axis1', [1]),
  i64('shape_b111', [-1, 1, 1, 1]),
  { name: 'w_tok', dims: [32, 1], data: Float32Array.from({ length: 32 }, (_, i) => Math.cos(i) / 8) },
];

function unetGraphs(): { unet: Uint8Array; shallow: Uint8Array } {
  const common = [
    { name: 'sample', type: 'float32' as const, shape: SAMPLE },
    { name: 'timestep', type: 'float32' as const, shape: [] },
    { name: 'encoder_hidden_states', type: 'float32' as const, shape: HIDDEN },
  ];
  const unet = encodeModel({
    inputs: common,
    outputs: [
      { name: 'out_sample', type: 'float32', shape: SAMPLE },
      { name: 'deep_features', type: 'float32', shape: FEATURES },
    ],
    nodes: [...PROMPT_TERM, ...DEEP, ...SHALLOW],
    initializers: INITIALIZERS,
  });
  const shallow = encodeModel({
    inputs: [...common, { name: 'deep_features', type: 'float32', shape: FEATURES }],
    outputs: [{ name: 'out_sample', type: 'float32', shape: SAMPLE }],
    nodes: [...PROMPT_TERM, ...SHALLOW],
    initializers: INITIALIZERS,
  });
  return { unet, shallow };
}

const spec = (file: string, withFeaturesIn: boolean, withFeaturesOut: boolean): SessionSpec => ({
  file,
  external_data: [],
  inputs: [
    { name: 'sample', dtype: 'float32', shape: [...SAMPLE] },
    { name: 'timestep', dtype: 'float32', shape: [] },
    { name: 'encoder_hidden_states', dtype: 'float32', shape: [...HIDDEN] },
    ...(withFeaturesIn ? [{ name: 'deep_features', dtype: 'float32' as const, shape: [...FEATURES] }] : []),
  ],
  outputs: [
    { name: 'out_sample', dtype: 'float32', shape: [...SAMPLE] },
    ...(withFeaturesOut ? [{ name: 'deep_features', dtype: 'float32' as const, shape: [...FEATURES] }] : []),
  ],
});

/**
 * A copy of the tiny model in a temporary folder whose unet is the synthetic full graph (with the
 * deep_features output) and which has the unet_shallow graph and the manifest's "deepcache" entry.
 * The caller removes the folder (removeModel).
 */
export function syntheticDeepCacheModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ldm3d-deepcache-'));
  const src = JSON.parse(readFileSync(join(PLAIN_MODEL, 'manifest.json'), 'utf8')) as Manifest;
  for (const sub of ['text_encoder', 'vae_decoder', 'tokenizer']) cpSync(join(PLAIN_MODEL, sub), join(dir, sub), { recursive: true });
  const { unet, shallow } = unetGraphs();
  const files: ManifestFile[] = src.files.filter((f) => f.path.startsWith('text_encoder/') || f.path.startsWith('vae_decoder/') || f.path.startsWith('tokenizer/'));
  for (const [path, bytes] of [
    ['unet/model.onnx', unet],
    ['unet_shallow/model.onnx', shallow],
  ] as const) {
    mkdirSync(join(dir, path.split('/')[0]), { recursive: true });
    writeFileSync(join(dir, path), bytes);
    files.push({ path, bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex'), kind: 'onnx' });
  }
  const manifest: Manifest = {
    ...src,
    files,
    sessions: {
      text_encoder: src.sessions.text_encoder,
      vae_decoder: src.sessions.vae_decoder,
      unet: spec('unet/model.onnx', false, true),
      unet_shallow: spec('unet_shallow/model.onnx', true, false),
    },
    deepcache: { reference: 'synthetic test graphs', cache_branch_id: 0, feature: 'deep_features', shallow_session: 'unet_shallow', shallow_flops_share: 0.5 },
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return dir;
}

export function removeModel(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

// ---- the UNet call spy ----

export interface DeepCacheCall {
  readonly kind: 'plain' | 'full' | 'shallow';
  readonly timestep: number;
  /** The batch of the call's sample (2: guidance batched). */
  readonly batch: number;
  /** The prompt embeddings it got (tells split guidance's two calls apart). */
  readonly hidden: RtTensor;
  /** full: the features it returned; shallow: the ones it was given; plain: null. */
  readonly features: RtTensor | null;
  /** Where `features` lived at the call (a disposed tensor's location is 'none'). */
  readonly featuresLocation: string | null;
  /** shallow: whether the given features had already been disposed (must never be). */
  readonly staleFeatures: boolean;
}

export interface DeepCacheSpy {
  readonly calls: DeepCacheCall[];
  /** Every features tensor a full call returned, and whether it has been disposed since. */
  readonly features: Map<RtTensor, { disposed: number }>;
}

/** Records the UNet stage's calls (the real ones still run); `after` runs once a call has resolved. */
export function spyOnDeepCache(after?: (calls: DeepCacheCall[]) => void): DeepCacheSpy {
  const calls: DeepCacheCall[] = [];
  const features = new Map<RtTensor, { disposed: number }>();
  const { run, runFull, runShallow } = UNetStage.prototype;
  vi.spyOn(UNetStage.prototype, 'run').mockImplementation(async function (this: UNetStage, sample, t, hidden, wrap, extra) {
    const out = await run.call(this, sample, t, hidden, wrap, extra);
    calls.push({ kind: 'plain', timestep: t, batch: sample.dims[0], hidden, features: null, featuresLocation: null, staleFeatures: false });
    after?.(calls);
    return out;
  });
  vi.spyOn(UNetStage.prototype, 'runFull').mockImplementation(async function (this: UNetStage, sample, t, hidden, wrap) {
    const res = await runFull.call(this, sample, t, hidden, wrap);
    const record = { disposed: 0 };
    features.set(res.features, record);
    const dispose = res.features.dispose.bind(res.features);
    res.features.dispose = () => {
      record.disposed++;
      dispose();
    };
    calls.push({ kind: 'full', timestep: t, batch: sample.dims[0], hidden, features: res.features, featuresLocation: res.features.location, staleFeatures: false });
    after?.(calls);
    return res;
  });
  vi.spyOn(UNetStage.prototype, 'runShallow').mockImplementation(async function (this: UNetStage, sample, t, hidden, f, wrap) {
    const stale = (features.get(f)?.disposed ?? 0) > 0;
    const out = await runShallow.call(this, sample, t, hidden, f, wrap);
    calls.push({ kind: 'shallow', timestep: t, batch: sample.dims[0], hidden, features: f, featuresLocation: f.location, staleFeatures: stale });
    after?.(calls);
    return out;
  });
  return { calls, features };
}

/**
 * The calls must follow `schedule` (one entry per step, `perStep` calls each) and every shallow
 * call must get the features of the latest full call made with the same prompt embeddings (split
 * guidance: the negative's and the prompt's are cached apart), still alive; at the end, every
 * features tensor has been disposed exactly once.
 */
export function expectDeepCacheCalls(spy: DeepCacheSpy, schedule: readonly boolean[], perStep: number): void {
  const { calls } = spy;
  expect(calls.map((c) => c.kind)).toEqual(schedule.flatMap((full) => Array.from({ length: perStep }, () => (full ? 'full' : 'shallow'))));
  const latest = new Map<RtTensor, RtTensor>();
  calls.forEach((c, i) => {
    if (c.kind === 'full') latest.set(c.hidden, c.features!);
    else {
      expect(c.features, `call ${i}: the features of the latest full call for these embeddings`).toBe(latest.get(c.hidden));
      expect(c.staleFeatures, `call ${i}: features already disposed`).toBe(false);
    }
  });
  for (const [, r] of spy.features) expect(r.disposed).toBe(1);
}

// ---- the DeepCache goldens ----

export interface DeepCacheGoldenCase extends GoldenCase {
  readonly deepcache_interval: number;
}

export function loadDeepCacheCases(): { cases: DeepCacheGoldenCase[] } {
  return parsePythonJson<{ cases: DeepCacheGoldenCase[] }>(readFileSync(new URL('cases.json', DEEPCACHE_GOLDENS), 'utf8'));
}

export function loadDeepCacheNpy(file: string): { data: Float32Array; shape: number[] } {
  const a = readNpy(new Uint8Array(readFileSync(new URL(file, DEEPCACHE_GOLDENS))));
  if (!(a.data instanceof Float32Array)) throw new Error(`${file}: expected float32, got ${a.descr}`);
  return { data: a.data, shape: a.shape };
}

export interface DeepCacheCaseErrors {
  name: string;
  interval: number;
  rgb: number;
  depth: number;
  /** Largest error of the latents after any step, relative to that step's scale (as parity.ts). */
  latents: number;
  unetFull: number;
  unetShallow: number;
}

/** One golden case through the pipeline with its deepcache_interval, the latents checked after every step. */
/** A golden case's generation options (its injected latents, no previews, its DeepCache interval). */
export function deepCacheCaseOptions(c: DeepCacheGoldenCase): GenerateOptions {
  return {
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    steps: c.num_inference_steps,
    guidance: c.guidance_scale,
    scheduler: c.scheduler,
    latents: loadDeepCacheNpy(c.latents).data,
    height: c.height,
    width: c.width,
    preview: false,
    deepCacheInterval: c.deepcache_interval,
  };
}

export async function runDeepCacheCase(pipe: Ldm3dPipeline, c: DeepCacheGoldenCase): Promise<DeepCacheCaseErrors> {
  const trajectory = loadDeepCacheNpy(c.latents_trajectory);
  const stepSize = trajectory.shape.slice(1).reduce((a, b) => a * b, 1);
  let steps = 0;
  let latentErr = 0;
  const out = await pipe.generate({
    ...deepCacheCaseOptions(c),
    onStepLatents: (step, x) => {
      steps = step;
      const want = trajectory.data.subarray((step - 1) * stepSize, step * stepSize);
      const scale = Math.max(1, ...Array.from(want, Math.abs));
      latentErr = Math.max(latentErr, maxAbsDiff(x, want) / scale);
    },
  });
  expect(steps, `${c.name}: steps seen vs the trajectory's`).toBe(trajectory.shape[0]);
  expect(out.settings.timesteps, `${c.name} timesteps`).toEqual(c.timesteps.map(Math.fround));
  expect(out.settings.deepCacheInterval).toBe(c.deepcache_interval);
  return {
    name: c.name,
    interval: c.deepcache_interval,
    rgb: maxAbsDiff(out.rgbFloat, loadDeepCacheNpy(c.rgb).data),
    depth: maxAbsDiff(out.depth, loadDeepCacheNpy(c.depth).data),
    latents: latentErr,
    unetFull: out.timings.unetFull,
    unetShallow: out.timings.unetShallow,
  };
}
