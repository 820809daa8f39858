/**
 * Horizontal wrap padding (issue 12, models/wrap_conv.py) on the committed tiny exports
 * models/tiny/ldm3d-pano-wrap and models/tiny/ldm3d-sr-wrap, on WASM:
 *  - the rewrite found every convolution wider than one column (counted in the graphs themselves);
 *  - circular_pad = 1: the UNet is equivariant to horizontal rolls of the latents by 8 columns (and by
 *    2, the tiny UNet's total stride), the VAE decoder turns a roll by 1 latent column into a roll by
 *    8 pixels, the VAE encoder the reverse (≤ 1e-5); zero padding is not (the test means something);
 *  - circular_pad = 0: every rewritten graph gives the un-rewritten model's outputs (≤ 1e-6);
 *  - the manifest: "wrap", the new input, everything else as in the plain export;
 *  - once models/goldens_wrap.py's fixtures exist (bench/run-device-wrap-goldens.sh): one UNet call and
 *    one VAE decode/encode with circular_pad = 1 against diffusers with circular-width convs (≤ 1e-4).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../src/node/npy';
import { readGraph, type GraphInfo } from '../../src/runtime/onnx-read';
import { preferLiftoff } from '../../src/node/webgpu';
import { cpuTensor, OrtRuntime, type OrtSession, type RtTensor } from '../../src/runtime/ort';
import { parsePythonJson } from '../pipeline/goldens';

const INPUT = 'circular_pad';
/**
 * Rolled vs unrolled runs sum in other orders (group norms, attention), so the bound is 1e-5 times the
 * output's scale, max(1, max|y|) (the tiny SR decoder's outputs reach 4.3; observed ≤ 1e-5 there).
 */
const TOL_EQUIVARIANT = 1e-5;
const tolFor = (y: Float32Array): number => TOL_EQUIVARIANT * Math.max(1, maxAbsOf(y));
const TOL_OFF = 1e-6;

interface SessionSpecJson {
  file: string;
  external_data: string[];
  inputs: Array<{ name: string; dtype: string; shape: Array<number | string> }>;
  outputs: Array<{ name: string; dtype: string; shape: Array<number | string> }>;
}
interface ManifestJson {
  [key: string]: unknown;
  files: Array<{ path: string; bytes: number; sha256: string; kind: string }>;
  sessions: Record<string, SessionSpecJson>;
  wrap?: { input: string; sessions: string[] };
}

const manifestOf = (dir: string): ManifestJson => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ManifestJson;

/** Mulberry32: a small seeded generator for test inputs in [-1.5, 1.5). */
function randoms(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) - 0.5) * 3;
  }
  return out;
}

/** Rolls an NCHW tensor along its last axis: out[..., (w + k) mod W] = x[..., w] (numpy.roll(x, k, -1)). */
function roll(x: Float32Array, width: number, k: number): Float32Array {
  const out = new Float32Array(x.length);
  const s = ((k % width) + width) % width;
  for (let row = 0; row < x.length; row += width) {
    for (let w = 0; w < width; w++) out[row + ((w + s) % width)] = x[row + w];
  }
  return out;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbsOf(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

async function load(rt: OrtRuntime, dir: string, name: string): Promise<OrtSession> {
  const spec = manifestOf(dir).sessions[name];
  const folder = join(dir, spec.file, '..');
  return rt.createSession({
    label: `${dir}:${name}`,
    file: spec.file,
    model: readFileSync(join(dir, spec.file)),
    externalData: spec.external_data.map((path) => ({ path, data: readFileSync(join(folder, path)) })),
  });
}

const circular = (on: 0 | 1): RtTensor => cpuTensor('float32', new Float32Array([on]), [1]);

/**
 * Convolutions the rewrite padded: Conv ← Concat(axis 3) of slices scaled by circular_pad, by side
 * (both sides; only the right one: the VAE encoder's asymmetric downsamplers).
 */
function wrappedConvs(g: GraphInfo): { both: number; rightOnly: number; leftOnly: number } {
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const scaled = (x: string): boolean => {
    const m = producer.get(x);
    return !!m && m.op === 'Mul' && m.inputs.includes(INPUT) && producer.get(m.inputs.find((i) => i !== INPUT) ?? '')?.op === 'Slice';
  };
  const r = { both: 0, rightOnly: 0, leftOnly: 0 };
  for (const n of g.nodes) {
    if (n.op !== 'Conv') continue;
    const c = producer.get(n.inputs[0]);
    if (!c || c.op !== 'Concat' || c.ints.axis !== 3) continue;
    const first = scaled(c.inputs[0]);
    const last = scaled(c.inputs[c.inputs.length - 1]);
    if (first && last && c.inputs.length === 3) r.both++;
    else if (!first && last && c.inputs.length === 2) r.rightOnly++;
    else if (first && !last && c.inputs.length === 2) r.leftOnly++;
  }
  return r;
}

/** Convs of the plain graph whose weight (an initializer [out, in, kH, kW]) is wider than one column. */
function wideConvs(g: GraphInfo): number {
  const dims = new Map(g.initializers.map((t) => [t.name, t.dims] as const));
  return g.nodes.filter((n) => n.op === 'Conv' && Number(dims.get(n.inputs[1])?.[3] ?? 0) > 1).length;
}

const GOLDENS = 'test/fixtures/goldens';
/** Exported graphs (onnxruntime) vs torch on one module call, as models/goldens_wrap.py checks in Python. */
const TOL_MODULE = 1e-4;

interface ModuleGoldens {
  circular_pad: number;
  unet: { inputs: { sample: string; timestep: number; encoder_hidden_states: string; class_labels?: number[] }; out_sample: string };
  vae_decoder: { latent_sample: string; sample: string };
  vae_encoder: { sample: string; latent_parameters: string };
}

function npy(set: string, file: string): { data: Float32Array; shape: number[] } {
  const a = readNpy(new Uint8Array(readFileSync(join(GOLDENS, set, file))));
  if (!(a.data instanceof Float32Array)) throw new Error(`${set}/${file}: expected float32`);
  return { data: a.data, shape: a.shape };
}

const MODELS = [
  { plain: 'models/tiny/ldm3d-pano', wrap: 'models/tiny/ldm3d-pano-wrap', goldens: 'ldm3d-pano-wrap', unetChannels: 4, latentH: 8, latentW: 16, classLabels: false },
  { plain: 'models/tiny/ldm3d-sr', wrap: 'models/tiny/ldm3d-sr-wrap', goldens: 'ldm3d-sr-wrap', unetChannels: 8, latentH: 16, latentW: 16, classLabels: true },
] as const;

// Expected wrapped convolutions of the tiny architecture (models/tiny.py), all 3×3: UNet 28 = conv_in +
// 2 per resnet × (2 + 2 down, 2 mid, 3 + 3 up) + the downsampler + the upsampler + conv_out; VAE decoder
// 25, VAE encoder 17 of which 3 are the asymmetric stride-2 downsamplers (pads left 0, right 1).
const EXPECTED: Record<string, { both: number; rightOnly: number }> = {
  unet: { both: 28, rightOnly: 0 },
  vae_decoder: { both: 25, rightOnly: 0 },
  vae_encoder: { both: 14, rightOnly: 3 },
};

for (const m of MODELS) {
  describe(`wrap padding: ${m.wrap} on wasm`, () => {
    let rt: OrtRuntime;
    const sessions: Record<string, OrtSession> = {};
    beforeAll(async () => {
      preferLiftoff();
      rt = await OrtRuntime.create({ backend: 'wasm' });
      for (const name of ['unet', 'vae_decoder', 'vae_encoder']) {
        sessions[name] = await load(rt, m.wrap, name);
        sessions[`plain:${name}`] = await load(rt, m.plain, name);
      }
    }, 300_000);
    afterAll(async () => {
      await rt?.dispose();
    });

    it('the manifest names the wrapped sessions and their new input; everything else is the plain export\'s', () => {
      const w = manifestOf(m.wrap);
      const p = manifestOf(m.plain);
      expect(w.wrap).toEqual({ input: INPUT, sessions: ['unet', 'vae_decoder', 'vae_encoder'] });
      for (const [k, v] of Object.entries(p)) {
        if (k === 'files' || k === 'sessions') continue;
        expect(w[k], k).toEqual(v);
      }
      for (const [name, s] of Object.entries(p.sessions)) {
        const ws = w.sessions[name];
        const wrapped = w.wrap!.sessions.includes(name);
        expect(ws.inputs, name).toEqual(wrapped ? [...s.inputs, { name: INPUT, dtype: 'float32', shape: [1] }] : s.inputs);
        expect(ws.outputs, name).toEqual(s.outputs);
        expect(ws.file).toBe(s.file);
      }
      const plainSha = new Map(p.files.map((f) => [f.path, f.sha256]));
      for (const f of w.files) {
        // untouched graphs, tokenizer files and the UNet's weights keep their bytes
        if (!f.path.endsWith('.onnx')) expect(f.sha256, f.path).toBe(plainSha.get(f.path));
        if (f.path.startsWith('text_encoder/')) expect(f.sha256, f.path).toBe(plainSha.get(f.path));
        expect(f.bytes, f.path).toBe(readFileSync(join(m.wrap, f.path)).length);
      }
      expect(w.files.map((f) => f.path).sort()).toEqual(p.files.map((f) => f.path).sort());
    });

    it('every convolution wider than one column is padded from the opposite edge, and no other', () => {
      for (const [name, want] of Object.entries(EXPECTED)) {
        const spec = manifestOf(m.wrap).sessions[name];
        const g = readGraph(readFileSync(join(m.wrap, spec.file)));
        const plain = readGraph(readFileSync(join(m.plain, spec.file)));
        const got = wrappedConvs(g);
        expect(got, name).toEqual({ ...want, leftOnly: 0 });
        expect(got.both + got.rightOnly, `${name}: all wide convs`).toBe(wideConvs(plain));
        expect(g.inputs.filter((i) => i.name === INPUT).map((i) => [i.elemType, i.dims]), name).toEqual([[1, [1]]]);
        expect(plain.inputs.some((i) => i.name === INPUT)).toBe(false);
      }
    });

    const unetFeeds = (sample: Float32Array, batch: number, on: 0 | 1 | null): Record<string, RtTensor> => {
      const feeds: Record<string, RtTensor> = {
        sample: cpuTensor('float32', sample, [batch, m.unetChannels, m.latentH, m.latentW]),
        timestep: cpuTensor('float32', new Float32Array([481]), []),
        encoder_hidden_states: cpuTensor('float32', randoms(batch * 77 * 32, 11), [batch, 77, 32]),
      };
      if (m.classLabels) feeds.class_labels = cpuTensor('int64', new BigInt64Array(batch).fill(20n), [batch]);
      if (on !== null) feeds[INPUT] = circular(on);
      return feeds;
    };
    const unet = async (key: string, sample: Float32Array, batch: number, on: 0 | 1 | null): Promise<Float32Array> =>
      (await sessions[key].run(unetFeeds(sample, batch, on)))['out_sample'].data as Float32Array;

    it('UNet, circular_pad = 1: rolling the latents by 8 (and 2) columns rolls the noise prediction the same (≤ 1e-5 × scale)', async () => {
      const batch = 2;
      const x = randoms(batch * m.unetChannels * m.latentH * m.latentW, 1);
      const y = await unet('unet', x, batch, 1);
      for (const k of [8, 2]) {
        const yr = await unet('unet', roll(x, m.latentW, k), batch, 1);
        const err = maxAbs(yr, roll(y, m.latentW, k));
        console.log(`${m.wrap} unet roll ${k}: ${err.toExponential(2)} (|y| ≤ ${maxAbsOf(y).toFixed(2)})`);
        expect(err, `roll ${k}`).toBeLessThanOrEqual(tolFor(y));
      }
      // the same with zero padding is not equivariant: the check above can fail
      const z = await unet('unet', x, batch, 0);
      const zr = await unet('unet', roll(x, m.latentW, 8), batch, 0);
      expect(maxAbs(zr, roll(z, m.latentW, 8))).toBeGreaterThan(1e-3);
    });

    it('UNet, circular_pad = 0: the plain export\'s output (≤ 1e-6)', async () => {
      const x = randoms(2 * m.unetChannels * m.latentH * m.latentW, 2);
      const err = maxAbs(await unet('unet', x, 2, 0), await unet('plain:unet', x, 2, null));
      console.log(`${m.wrap} unet off vs plain: ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(TOL_OFF);
    });

    const decode = async (key: string, z: Float32Array, h: number, w: number, on: 0 | 1 | null): Promise<Float32Array> => {
      const feeds: Record<string, RtTensor> = { latent_sample: cpuTensor('float32', z, [1, 4, h, w]) };
      if (on !== null) feeds[INPUT] = circular(on);
      return (await sessions[key].run(feeds))['sample'].data as Float32Array;
    };
    const encode = async (key: string, img: Float32Array, h: number, w: number, on: 0 | 1 | null): Promise<Float32Array> => {
      const feeds: Record<string, RtTensor> = { sample: cpuTensor('float32', img, [1, 4, h, w]) };
      if (on !== null) feeds[INPUT] = circular(on);
      return (await sessions[key].run(feeds))['latent_parameters'].data as Float32Array;
    };

    it('VAE decoder: a roll by 1 latent column rolls the image by 8 pixels (≤ 1e-5 × scale); off = the plain decoder (≤ 1e-6)', async () => {
      const [h, w] = [8, 16];
      const z = randoms(4 * h * w, 3);
      const y = await decode('vae_decoder', z, h, w, 1);
      for (const k of [1, 3]) {
        const err = maxAbs(await decode('vae_decoder', roll(z, w, k), h, w, 1), roll(y, 8 * w, 8 * k));
        console.log(`${m.wrap} vae_decoder roll ${k} → ${8 * k} px: ${err.toExponential(2)} (|y| ≤ ${maxAbsOf(y).toFixed(2)})`);
        expect(err, `roll ${k}`).toBeLessThanOrEqual(tolFor(y));
      }
      const off = await decode('vae_decoder', z, h, w, 0);
      expect(maxAbs(await decode('vae_decoder', roll(z, w, 1), h, w, 0), roll(off, 8 * w, 8))).toBeGreaterThan(1e-3);
      const err = maxAbs(off, await decode('plain:vae_decoder', z, h, w, null));
      console.log(`${m.wrap} vae_decoder off vs plain: ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(TOL_OFF);
    });

    it('VAE encoder (asymmetric downsamplers): a roll by 8 pixels rolls the latent by 1 column (≤ 1e-5 × scale); off = the plain encoder (≤ 1e-6)', async () => {
      const [h, w] = [64, 128];
      const img = randoms(4 * h * w, 4);
      const y = await encode('vae_encoder', img, h, w, 1);
      for (const k of [1, 5]) {
        const err = maxAbs(await encode('vae_encoder', roll(img, w, 8 * k), h, w, 1), roll(y, w / 8, k));
        console.log(`${m.wrap} vae_encoder roll ${8 * k} px → ${k}: ${err.toExponential(2)} (|y| ≤ ${maxAbsOf(y).toFixed(2)})`);
        expect(err, `roll ${k}`).toBeLessThanOrEqual(tolFor(y));
      }
      const off = await encode('vae_encoder', img, h, w, 0);
      expect(maxAbs(await encode('vae_encoder', roll(img, w, 8), h, w, 0), roll(off, w / 8, 1))).toBeGreaterThan(1e-3);
      const err = maxAbs(off, await encode('plain:vae_encoder', img, h, w, null));
      console.log(`${m.wrap} vae_encoder off vs plain: ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(TOL_OFF);
    });

    const goldensFile = join(GOLDENS, m.goldens, 'cases.json');
    it.skipIf(!existsSync(goldensFile))(`module goldens (${m.goldens}): one UNet call and one VAE decode/encode with wrap on vs patched diffusers (≤ 1e-4)`, async () => {
      const g = parsePythonJson<{ modules: ModuleGoldens }>(readFileSync(goldensFile, 'utf8')).modules;
      expect(g.circular_pad).toBe(1);
      const x = npy(m.goldens, g.unet.inputs.sample);
      const e = npy(m.goldens, g.unet.inputs.encoder_hidden_states);
      const feeds: Record<string, RtTensor> = {
        sample: cpuTensor('float32', x.data, x.shape),
        timestep: cpuTensor('float32', new Float32Array([g.unet.inputs.timestep]), []),
        encoder_hidden_states: cpuTensor('float32', e.data, e.shape),
        [INPUT]: circular(1),
      };
      if (g.unet.inputs.class_labels) feeds.class_labels = cpuTensor('int64', BigInt64Array.from(g.unet.inputs.class_labels.map(BigInt)), [g.unet.inputs.class_labels.length]);
      const errs = {
        unet: maxAbs((await sessions.unet.run(feeds))['out_sample'].data as Float32Array, npy(m.goldens, g.unet.out_sample).data),
        vae_decoder: 0,
        vae_encoder: 0,
      };
      const z = npy(m.goldens, g.vae_decoder.latent_sample);
      errs.vae_decoder = maxAbs(await decode('vae_decoder', z.data, z.shape[2], z.shape[3], 1), npy(m.goldens, g.vae_decoder.sample).data);
      const img = npy(m.goldens, g.vae_encoder.sample);
      errs.vae_encoder = maxAbs(await encode('vae_encoder', img.data, img.shape[2], img.shape[3], 1), npy(m.goldens, g.vae_encoder.latent_parameters).data);
      console.log(`${m.wrap} vs module goldens: ${JSON.stringify(errs)}`);
      for (const [k, v] of Object.entries(errs)) expect(v, k).toBeLessThanOrEqual(TOL_MODULE);
    });
  });
}
