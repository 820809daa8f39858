/**
 * The one place where the benchmark meets the pipeline, so bench/pano-webgpu.ts stays the same
 * whichever entry point it drives.
 *
 * 'pipeline' (default): src/pipeline's Ldm3dPipeline, exactly as the app's worker uses it
 * (folder source, WebGPU, previews on every step like the app).
 *
 * 'stand-in' (--loop stand-in; bench/run-device.sh falls back to it if the real pipeline fails at
 * full size): drives the project's pieces the way the WASM back end does (src/runtime/ort.ts
 * sessions on WebGPU, the CLIP tokenizer, the scheduler plans, CpuLatents), so the UNet,
 * text-encoder and VAE calls are the app's, but the latents and the guided ε cross to the CPU
 * every step. Results carry `pipelineKind` so the two are never confused.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest, SessionName } from '../../src/model/manifest';
import { ClipTokenizer } from '../../src/pipeline/tokenizer';
import { createScheduler, type SchedulerName } from '../../src/pipeline/schedulers/index.ts';
import { CpuLatents } from '../../src/pipeline/lincomb';
import { randomNormals } from '../../src/pipeline/prng';
import { OrtRuntime, cpuTensor, type OrtSession } from '../../src/runtime/ort';
import { Ldm3dPipeline, type LoadOptions } from '../../src/pipeline/pano/pipeline';
import { folderSource } from '../../src/node/folder-source';
import { modelNeeds } from '../../src/runtime/limits';

export interface GenerationOptions {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly steps: number;
  readonly guidance: number;
  readonly scheduler: SchedulerName;
  readonly seed: number;
}

export interface PipelineUnderTest {
  readonly kind: 'pipeline' | 'stand-in';
  readonly adapter: string;
  /** The model line (back end, adapter, subgroups, limits, ...), as the app shows it. */
  readonly summary: string;
  readonly image: { readonly height: number; readonly width: number };
  generate(o: GenerationOptions, onStep: (step: number) => void): Promise<{ timings: Readonly<Record<string, number>> | null }>;
  dispose(): Promise<void>;
}

/**
 * `options.vaeTiling` (--vae-tiling): the real pipeline's tiled VAE decode; the stand-in ignores it.
 * `options.limits` / `options.subgroups` (--limits, --subgroups): the WebGPU device's limits and
 * subgroup feature (src/runtime/limits.ts, ort.ts), for both.
 */
export type UnderTestOptions = Pick<LoadOptions, 'vaeTiling' | 'limits' | 'subgroups'>;

export async function loadPipelineUnderTest(dir: string, kind: 'pipeline' | 'stand-in' = 'pipeline', options: UnderTestOptions = {}): Promise<PipelineUnderTest> {
  return kind === 'pipeline' ? loadRealPipeline(dir, options) : loadStandIn(dir, options);
}

async function loadRealPipeline(dir: string, options: UnderTestOptions): Promise<PipelineUnderTest> {
  const source = await folderSource(dir);
  const pipe = await Ldm3dPipeline.load(source, { backend: 'webgpu', ...options });
  const { height, width } = source.manifest.image;
  return {
    kind: 'pipeline',
    adapter: 'see deviceAdapter',
    summary: pipe.runtimeSummary,
    image: { height, width },
    async generate(o, onStep) {
      const r = await pipe.generate({
        prompt: o.prompt,
        negativePrompt: o.negativePrompt,
        steps: o.steps,
        guidance: o.guidance,
        scheduler: o.scheduler,
        seed: o.seed,
        // As the app does: a preview of x̂0 on every step.
        preview: true,
        onProgress: (p) => onStep(p.step),
      });
      return { timings: { ...r.timings, ...Object.fromEntries(Object.entries(pipe.loadTimings).map(([k, v]) => [`load.${k}`, v])) } };
    },
    dispose: () => pipe.dispose(),
  };
}

async function loadStandIn(dir: string, options: UnderTestOptions): Promise<PipelineUnderTest> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const bytes = async (p: string): Promise<Uint8Array> => new Uint8Array(await readFile(join(dir, p)));
  const rt = await OrtRuntime.create({ backend: 'webgpu', limits: options.limits, subgroups: options.subgroups, needs: async () => modelNeeds(await folderSource(dir)) });
  const open = async (name: SessionName): Promise<OrtSession> => {
    const spec = manifest.sessions[name];
    if (!spec) throw new Error(`${dir}/manifest.json has no ${name} session`);
    const base = spec.file.slice(0, spec.file.lastIndexOf('/') + 1);
    const externalData = await Promise.all(spec.external_data.map(async (path) => ({ path, data: await bytes(base + path) })));
    return rt.createSession({ label: name, file: spec.file, model: await bytes(spec.file), externalData });
  };
  const tokenizer = ClipTokenizer.fromFiles(await bytes('tokenizer/tokenizer.json'), await bytes('tokenizer/tokenizer_config.json'), manifest.text.max_length);
  const textEncoder = await open('text_encoder');
  const unet = await open('unet');
  const vae = await open('vae_decoder');
  const { height, width } = manifest.image;
  const lh = height / manifest.vae_scale_factor;
  const lw = width / manifest.vae_scale_factor;
  const c = manifest.latent_channels;
  const n = c * lh * lw;

  return {
    kind: 'stand-in',
    adapter: rt.adapter,
    summary: rt.summary,
    image: { height, width },
    async generate(o, onStep) {
      const timings: Record<string, number> = {};
      let t = performance.now();
      const lap = (k: string): void => {
        const now = performance.now();
        timings[k] = (timings[k] ?? 0) + now - t;
        t = now;
      };
      const cfg = o.guidance > 1;
      const ids = cfg ? [tokenizer.encode(o.negativePrompt).ids, tokenizer.encode(o.prompt).ids] : [tokenizer.encode(o.prompt).ids];
      const idData = new BigInt64Array(ids.length * manifest.text.max_length);
      ids.forEach((a, i) => idData.set(a, i * manifest.text.max_length));
      const te = await textEncoder.run({ input_ids: cpuTensor('int64', idData, [ids.length, manifest.text.max_length]) });
      const embeds = te[textEncoder.outputNames[0]];
      lap('text_encoder');
      const plan = createScheduler(o.scheduler, manifest.scheduler).plan(o.steps);
      const lat = new CpuLatents(n, plan, randomNormals(o.seed, n));
      const batch = cfg ? 2 : 1;
      const sample = new Float32Array(batch * n);
      for (let i = 0; i < plan.steps.length; i++) {
        const step = plan.steps[i];
        lat.unetInput(step, batch, sample);
        const out = await unet.run({
          sample: cpuTensor('float32', sample, [batch, c, lh, lw]),
          timestep: cpuTensor('float32', new Float32Array([step.timestep]), []),
          encoder_hidden_states: embeds,
        });
        const eps = (await out[unet.outputNames[0]].getData()) as Float32Array;
        lat.apply(step, eps, cfg ? o.guidance : null);
        onStep(i + 1);
      }
      lap('denoise');
      const z = new Float32Array(n);
      for (let i = 0; i < n; i++) z[i] = lat.x[i] / manifest.vae_scaling_factor;
      const img = await vae.run({ latent_sample: cpuTensor('float32', z, [1, c, lh, lw]) });
      const px = (await img[vae.outputNames[0]].getData()) as Float32Array;
      const rgb = new Uint8ClampedArray(height * width * 3);
      for (let k = 0; k < 3; k++) {
        for (let i = 0; i < height * width; i++) rgb[i * 3 + k] = Math.round(Math.min(1, Math.max(0, px[k * height * width + i] * 0.5 + 0.5)) * 255);
      }
      lap('vae_decode');
      return { timings };
    },
    dispose: () => rt.dispose(),
  };
}
