/**
 * Text → LDM3D-pano RGB + depth panorama from the command line, on the same pipeline as the app.
 *
 *   npm run generate -- --prompt "a beach at sunset" [--negative "blurry"] [--preset headset|reference]
 *     [--steps 50] [--guidance 7] [--scheduler ddim|pndm|euler|dpm] [--deepcache N] [--seed 42]
 *     [--latents init.npy] [--models DIR] [--backend auto|webgpu|wasm] [--width 1024 --height 512]
 *     [--no-verify] [--no-wrap] [--no-prompt-template] --out DIR
 *
 * Writes DIR/rgb.png (8-bit RGB), DIR/depth16.png (16-bit greyscale, diffusers' trunc(d·65535)) and
 * DIR/metadata.json (every setting with the preset they are, the model, timings per stage).
 * `--preset` sets scheduler, steps and DeepCache interval (src/pipeline/presets.ts); --steps,
 * --scheduler and --deepcache given with it win, and the metadata then says 'custom'. `--latents` takes a float32 .npy
 * of the initial latents [1, 4, H/8, W/8] in diffusers' layout, unscaled (diffusers multiplies by
 * init_noise_sigma), so a diffusers run can be reproduced exactly. Progress goes to stderr.
 * Exit codes: 0 done, 1 failed, 2 bad command line, 130 cancelled (Ctrl-C).
 */
import { register } from 'node:module';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { guidanceError, stepsError } from '../src/pipeline/setting-ranges';

// The pipeline imports its WGSL with Vite's `?raw` suffix; teach Node's loader the same, before the
// pipeline modules load (hence the dynamic imports below).
const RAW_HOOK = `
export async function resolve(specifier, context, next) {
  if (specifier.endsWith('?raw')) {
    const r = await next(specifier.slice(0, -4), context);
    return { url: r.url + '?raw', shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (url.endsWith('?raw')) {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(new URL(url.slice(0, -4)), 'utf8');
    return { format: 'module', source: 'export default ' + JSON.stringify(text) + ';', shortCircuit: true };
  }
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(RAW_HOOK)}`);

const { encode } = await import('fast-png');
const { isPipelineError, PipelineError } = await import('../src/model/errors');
const { readNpy } = await import('../src/node/npy');
const { folderSource } = await import('../src/node/folder-source');
const { Ldm3dPipeline } = await import('../src/pipeline/pano/pipeline');
const { SCHEDULER_NAMES } = await import('../src/pipeline/schedulers/common');
const { PRESET_NAMES, deepCacheIntervalError, isPresetName, matchingPreset, presetValues, HEADSET_STEPS, MAX_DEEPCACHE_INTERVAL } = await import('../src/pipeline/presets');
const { installNodeWebGPU, preferLiftoff, uninstallNodeWebGPU } = await import('../src/node/webgpu');
const { imageSeamMetrics } = await import('../src/panorama/seam');

const DEFAULT_MODELS = 'models/tiny/ldm3d-pano';

const USAGE = `usage: npm run generate -- --prompt TEXT --out DIR [options]
  --prompt TEXT         what to generate ('' is allowed: unconditional)
  --negative TEXT       negative prompt
  --preset NAME         ${PRESET_NAMES.join(' | ')}: headset = DPM-Solver++ 2M, ${HEADSET_STEPS} steps (the app's
                        default on headsets); reference = the model's defaults, exactly diffusers
                        (default). --steps/--scheduler/--deepcache override it (then 'custom')
  --steps N             inference steps (default: the preset's; the model's, 50 for ldm3d-pano)
  --guidance G          classifier-free guidance scale (default: the model's, 7)
  --scheduler NAME      ${['ddim', 'pndm', 'euler', 'dpm'].join(' | ')} (default: the preset's; the model's, ddim)
  --deepcache N         DeepCache: full UNet every Nth step, the shallow branch between; 1 = off
                        (1..${MAX_DEEPCACHE_INTERVAL}, default: the preset's). Needs an export with the DeepCache
                        graphs (models/export.py --deepcache)
  --no-wrap             seamless 360° off: zero padding at the left/right edges, exactly diffusers
                        (default: on where the export has wrapped graphs, models/export.py --wrap)
  --no-prompt-template  send the prompt exactly as given (default: inside the model's prompt
                        template, "360 view of {prompt}" for Intel/ldm3d-pano as its model card does)
  --seed N              seed of the pipeline's Philox generator, 0 to 2^53 − 1 (default: random,
                        recorded in metadata.json as a number)
  --latents FILE.npy    float32 initial latents [1,4,H/8,W/8], unscaled (overrides --seed)
  --width W --height H  output size, multiples of 8 (default: the model's: 1024×512 for LDM3D-pano,
                        128×64 for the tiny test models)
  --models DIR          exported model folder (default: ${DEFAULT_MODELS}, RANDOM TEST WEIGHTS)
  --backend B           auto | webgpu | wasm (default: auto = WebGPU, else WASM)
  --no-verify           skip the sha256 check of the model files
  --no-preview          skip the per-step preview
  --out DIR             output folder (created)`;

class UsageError extends Error {}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      prompt: { type: 'string' },
      negative: { type: 'string' },
      preset: { type: 'string' },
      deepcache: { type: 'string' },
      steps: { type: 'string' },
      guidance: { type: 'string' },
      scheduler: { type: 'string' },
      seed: { type: 'string' },
      latents: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      models: { type: 'string', default: DEFAULT_MODELS },
      backend: { type: 'string', default: 'auto' },
      'no-verify': { type: 'boolean', default: false },
      'no-preview': { type: 'boolean', default: false },
      'no-wrap': { type: 'boolean', default: false },
      'no-prompt-template': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  if (values.prompt === undefined) throw new UsageError('--prompt is required');
  if (!values.out) throw new UsageError('--out DIR is required');
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  let guidance: number | undefined;
  if (values.guidance !== undefined) {
    guidance = Number(values.guidance);
    const badGuidance = guidanceError(guidance, '--guidance');
    if (badGuidance) throw new UsageError(badGuidance);
  }
  const scheduler = values.scheduler;
  if (scheduler !== undefined && !(SCHEDULER_NAMES as readonly string[]).includes(scheduler)) {
    throw new UsageError(`--scheduler must be one of ${SCHEDULER_NAMES.join(', ')}, got ${JSON.stringify(scheduler)}`);
  }
  const preset = values.preset;
  if (preset !== undefined && !isPresetName(preset)) throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(', ')}, got ${JSON.stringify(preset)}`);
  const deepCacheInterval = int('deepcache', values.deepcache);
  if (deepCacheInterval !== undefined && deepCacheIntervalError(deepCacheInterval) !== null) {
    throw new UsageError(`--deepcache must be a whole number from 1 to ${MAX_DEEPCACHE_INTERVAL}, got ${JSON.stringify(values.deepcache)}`);
  }
  // Up to 2^53 − 1, not the generator's 2^64: metadata.json records the seed as a JSON number
  // (issue 14 item 14), which JavaScript's JSON.parse (the app's importer among others) reads
  // exactly only up to there; a larger seed would come back as a different one. The app draws
  // 32-bit seeds, so nothing it makes is out of this range.
  let seed: number | undefined;
  if (values.seed !== undefined) {
    if (!/^\d+$/.test(values.seed) || !Number.isSafeInteger(Number(values.seed))) {
      throw new UsageError(`--seed must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER} (2^53 − 1), got ${JSON.stringify(values.seed)}`);
    }
    seed = Number(values.seed);
  }
  // Everything that does not need the model is checked here, before seconds of loading.
  const steps = int('steps', values.steps);
  const badSteps = steps === undefined ? null : stepsError(steps, '--steps');
  if (badSteps) throw new UsageError(badSteps);
  const width = int('width', values.width);
  const height = int('height', values.height);
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (v !== undefined && (v < 8 || v % 8 !== 0)) throw new UsageError(`--${name} must be a positive multiple of 8, got ${v}`);
  }
  const backend = values.backend;
  if (backend !== 'auto' && backend !== 'webgpu' && backend !== 'wasm') throw new UsageError(`--backend must be auto, webgpu or wasm, got ${JSON.stringify(backend)}`);
  return {
    prompt: values.prompt,
    negative: values.negative,
    steps,
    guidance,
    scheduler: scheduler as (typeof SCHEDULER_NAMES)[number] | undefined,
    preset: preset as (typeof PRESET_NAMES)[number] | undefined,
    deepCacheInterval,
    seed,
    latents: values.latents,
    width,
    height,
    models: values.models,
    backend: backend as 'auto' | 'webgpu' | 'wasm',
    verify: !values['no-verify'],
    preview: !values['no-preview'],
    // Only off is a choice: on is the default where the export supports it, and impossible elsewhere.
    wrap: values['no-wrap'] ? false : undefined,
    promptTemplate: !values['no-prompt-template'],
    out: values.out,
  };
}

/** A one-line progress bar on stderr; on a non-terminal, a line every 10 %. */
function progressBar() {
  const tty = process.stderr.isTTY === true;
  let lastDecile = -1;
  return (label: string, done: number, total: number, extra: string): void => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${extra}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K${done === total ? '\n' : ''}`);
    else {
      const decile = Math.floor((10 * done) / total);
      if (decile !== lastDecile || done === total) process.stderr.write(line + '\n');
      lastDecile = decile;
    }
  };
}

const seconds = (ms: number | null): string => (ms === null ? '?' : `${(ms / 1000).toFixed(1)}s`);

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }

  const source = await folderSource(args.models, { verify: args.verify });
  const manifest = source.manifest;
  if (manifest.test_weights) {
    process.stderr.write(
      [
        '',
        '!!! ' + '='.repeat(76),
        `!!! ${args.models} holds RANDOM TEST WEIGHTS (${manifest.model_id}): the output is noise.`,
        '!!! For real panoramas export Intel/ldm3d-pano (see README):',
        '!!!   python models/export.py --model Intel/ldm3d-pano --out models/full/ldm3d-pano',
        '!!! then pass --models models/full/ldm3d-pano',
        '!!! ' + '='.repeat(76),
        '',
      ].join('\n') + '\n',
    );
  }

  // The preset's values (reference: this model's defaults), then what was given by hand.
  const modelDefaults = { scheduler: manifest.defaults.scheduler, steps: manifest.defaults.num_inference_steps };
  const base = presetValues(args.preset ?? 'reference', modelDefaults);
  const chosen: { scheduler: (typeof SCHEDULER_NAMES)[number]; steps: number; deepCacheInterval: number } = {
    scheduler: args.scheduler ?? base.scheduler,
    steps: args.steps ?? base.steps,
    deepCacheInterval: args.deepCacheInterval ?? base.deepCacheInterval,
  };
  const preset = matchingPreset(chosen, modelDefaults);

  let latents: Float32Array | undefined;
  let width = args.width;
  let height = args.height;
  if (args.latents) {
    let npy;
    try {
      npy = readNpy(new Uint8Array(await readFile(args.latents)));
    } catch (e) {
      throw new PipelineError('bad-option', `--latents ${args.latents}: ${(e as Error).message}`);
    }
    if (!(npy.data instanceof Float32Array)) throw new PipelineError('bad-option', `--latents ${args.latents}: dtype ${npy.descr}, expected float32 ('<f4')`);
    const [b, c, h, w] = npy.shape;
    if (npy.shape.length !== 4 || b !== 1 || c !== manifest.latent_channels) {
      throw new PipelineError('bad-option', `--latents ${args.latents}: shape (${npy.shape.join(', ')}), expected (1, ${manifest.latent_channels}, H/8, W/8)`);
    }
    // The size comes from the latents only when they are a panorama's 2 : 1; a given --width/--height
    // must match them. Anything else would silently write a non-panorama.
    const f = manifest.vae_scale_factor;
    if (width === undefined && height === undefined) {
      if (w !== 2 * h) {
        throw new PipelineError('bad-option', `--latents ${args.latents}: shape (${npy.shape.join(', ')}) is not a 2:1 panorama; expected (1, ${manifest.latent_channels}, H/8, 2·H/8), e.g. (1, ${manifest.latent_channels}, 64, 128) for 512×1024, or give --width and --height`);
      }
    } else if ((width !== undefined && width !== w * f) || (height !== undefined && height !== h * f)) {
      throw new PipelineError('bad-option', `--latents ${args.latents}: shape (${npy.shape.join(', ')}) does not match --width ${width ?? '?'} --height ${height ?? '?'}; expected (1, ${manifest.latent_channels}, ${(height ?? h * f) / f}, ${(width ?? w * f) / f})`);
    }
    latents = npy.data;
    height ??= h * f;
    width ??= w * f;
  }

  preferLiftoff();
  if (args.backend !== 'wasm') installNodeWebGPU();
  const bar = progressBar();
  const loadStart = performance.now();
  const pipe = await Ldm3dPipeline.load(source, {
    backend: args.backend,
    onProgress: (p) => bar('load    ', p.done, p.total, `${p.stage} ${seconds(performance.now() - loadStart)}`),
  });
  const loadMs = performance.now() - loadStart;
  for (const n of pipe.notices) process.stderr.write(`notice: ${n}\n`);
  process.stderr.write(`backend: ${pipe.backend}\n`);
  // The preset's feature cache runs only where the export has its graphs, as in the app; an interval
  // asked for by hand (--deepcache) on such an export stays an error (the pipeline's own message).
  if (args.deepCacheInterval === undefined && chosen.deepCacheInterval > 1 && !pipe.supportsDeepCache) {
    process.stderr.write('notice: the feature cache (DeepCache) is off: this export has no DeepCache graphs (models/export.py --deepcache makes them)\n');
    chosen.deepCacheInterval = 1;
  }

  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\ncancelling after this step (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);

  try {
    // The prompt as sent (the model's template applied): its words count towards the limit too.
    const sent = pipe.promptToSend(args.prompt, args.promptTemplate);
    if (sent !== args.prompt) process.stderr.write(`prompt sent: ${JSON.stringify(sent)} (the model's template; --no-prompt-template sends it as given)\n`);
    const tokens = pipe.tokenize(sent);
    if (tokens.truncated) {
      process.stderr.write(`notice: the prompt has ${tokens.count} tokens; the model reads ${tokens.max}, the rest is dropped\n`);
    }
    process.stderr.write(`preset: ${preset} (${chosen.scheduler}, ${chosen.steps} steps, DeepCache ${chosen.deepCacheInterval === 1 ? 'off' : `every ${chosen.deepCacheInterval}`})\n`);
    process.stderr.write(`seamless 360° (wrap): ${args.wrap ?? pipe.supportsWrap ? 'on' : pipe.supportsWrap ? 'off (--no-wrap)' : 'off (this export has no wrapped graphs)'}\n`);
    const result = await pipe.generate({
      prompt: args.prompt,
      negativePrompt: args.negative ?? null,
      steps: chosen.steps,
      guidance: args.guidance,
      scheduler: chosen.scheduler,
      deepCacheInterval: chosen.deepCacheInterval,
      seed: args.seed,
      latents,
      width,
      height,
      preview: args.preview,
      wrap: args.wrap,
      promptTemplate: args.promptTemplate,
      signal: controller.signal,
      onProgress: (p) => bar('denoise ', p.step, p.total, `t=${p.timestep} elapsed ${seconds(p.elapsedMs)} eta ${seconds(p.etaMs)}`),
    });

    await mkdir(args.out, { recursive: true });
    const rgbPng = encode({ width: result.width, height: result.height, data: result.rgb, channels: 3, depth: 8 });
    const depthPng = encode({ width: result.width, height: result.height, data: result.depth16, channels: 1, depth: 16 });
    await writeFile(join(args.out, 'rgb.png'), rgbPng);
    await writeFile(join(args.out, 'depth16.png'), depthPng);
    const metadata = {
      tool: 'ldm3d-xr scripts/generate.ts',
      createdAt: new Date().toISOString(),
      model: {
        id: manifest.model_id,
        dir: resolve(args.models),
        license: manifest.license,
        test_weights: manifest.test_weights,
        dtype: manifest.dtype,
        sha256_verified: args.verify,
      },
      settings: {
        ...result.settings,
        // A number, as every other setting (the pipeline reports a decimal string because its API
        // also takes 64-bit bigint seeds; --seed is limited to safe integers, so this is exact).
        seed: result.settings.seed === null ? null : Number(result.settings.seed),
        preset,
        latentsFile: args.latents ? resolve(args.latents) : null,
        preview: args.preview,
      },
      backend: result.backend,
      backendRequested: args.backend,
      notices: pipe.notices,
      tokens: result.tokens,
      timings: { loadTotal: loadMs, load: pipe.loadTimings, ...result.timings },
      // Issue 12's seam metric on the float outputs (before 8-bit rounding): 1.0 = the 360° seam is
      // no different from any other column step.
      seam: imageSeamMetrics({ width: result.width, height: result.height, rgb: result.rgbFloat, depth: result.depth }),
      outputs: {
        rgb: { file: 'rgb.png', width: result.width, height: result.height, channels: 3, bitDepth: 8 },
        depth16: { file: 'depth16.png', width: result.width, height: result.height, channels: 1, bitDepth: 16, encoding: 'trunc(depth * 65535), 1 = nearest' },
      },
      versions: { node: process.version },
    };
    await writeFile(join(args.out, 'metadata.json'), JSON.stringify(metadata, null, 2) + '\n');
    process.stderr.write(
      `wrote ${join(args.out, 'rgb.png')}, depth16.png, metadata.json (${result.width}×${result.height}, ${seconds(result.timings.total)} generate, ${seconds(loadMs)} load)\n`,
    );
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await pipe.dispose();
  }
}

let code: number;
try {
  code = await main();
} catch (e) {
  if (isPipelineError(e, 'cancelled')) {
    process.stderr.write(`\ncancelled: ${e.message}\n`);
    code = 130;
  } else {
    process.stderr.write(`\nerror: ${isPipelineError(e) ? `[${e.code}] ` : ''}${(e as Error).message ?? String(e)}\n`);
    code = 1;
  }
}
// dawn.node keeps the process alive while navigator.gpu is reachable.
uninstallNodeWebGPU();
process.exit(code);
