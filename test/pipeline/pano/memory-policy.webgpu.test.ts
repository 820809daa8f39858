/**
 * The memory policy on WebGPU (Dawn in Node; SwiftShader here): 'staged' gives the results of
 * 'resident' (bit-identical unless ORT's shared program cache gets in the way, see below), releases every session, and thereby frees ORT's GPU buffers — its bucket cache
 * included, which belongs to ORT's per-device context and goes with the last session on the device.
 * GPU memory is counted from JavaScript (bench/lib/gpu-buffers.ts: every createBuffer/destroy, ORT's
 * included), so this holds on any adapter. Warm-up: resident stays warm, staged keeps nothing,
 * both cancel. SwiftShader is slow (a tiny UNet call takes seconds): few, short cases.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { installNodeWebGPU } from '../../../src/node/webgpu';
import { encodeModel } from '../../../src/runtime/onnx-proto';
import { cpuTensor, OrtRuntime } from '../../../src/runtime/ort';
import { isPipelineError } from '../../../src/model/errors';
import { folderSource } from '../../../src/node/folder-source';
import { Ldm3dPipeline, type GenerateResult } from '../../../src/pipeline/pano/pipeline';
import { GpuBufferTracker } from '../../../bench/lib/gpu-buffers';
import { maxAbsDiff } from '../goldens';
import { caseOptions, expectGolden, expectIdentical, runtimeOf, spyOnSessions } from '../memory-helpers';

const MODELS = 'models/tiny/ldm3d-pano';
const TIMEOUT = 600_000;
const CASES = ['ddim-1-step', 'guidance-1'] as const;

function deviceOf(p: Ldm3dPipeline): GPUDevice {
  const d = runtimeOf(p).device;
  if (!d) throw new Error('no device');
  return d;
}

describe("onnxruntime-web's WebGPU program cache (why staged and resident can differ)", () => {
  // Canary for an ORT bug the memory policies run into: InstanceNormalization bakes epsilon into its
  // scale/shift shader but leaves it out of the program's cache key, and compiled programs are shared
  // by every session on a device. If this starts failing, ORT fixed it: drop the caveat in
  // docs/performance.md and expect staged == resident bit for bit on WebGPU too.
  it('an InstanceNormalization session takes the epsilon of an earlier one on the same device', async () => {
    installNodeWebGPU();
    const shape = [1, 32, 64];
    const model = (eps: number): Uint8Array =>
      encodeModel({
        inputs: [
          { name: 'x', type: 'float32', shape },
          { name: 's', type: 'float32', shape: [32] },
          { name: 'b', type: 'float32', shape: [32] },
        ],
        outputs: [{ name: 'y', type: 'float32', shape }],
        nodes: [{ op: 'InstanceNormalization', inputs: ['x', 's', 'b'], outputs: ['y'], attributes: { epsilon: { float: eps } } }],
      });
    const x = new Float32Array(32 * 64).map((_, i) => Math.sin(i) * 0.01);
    const run = async (rt: OrtRuntime, eps: number): Promise<Float32Array> => {
      const session = await rt.createSession({ label: `instance norm ε ${eps}`, file: '(built in)', model: model(eps) });
      const out = await session.run({
        x: cpuTensor('float32', x, shape),
        s: cpuTensor('float32', new Float32Array(32).fill(1), [32]),
        b: cpuTensor('float32', new Float32Array(32), [32]),
      });
      return (await out.y.getData()) as Float32Array;
    };
    const fresh = await OrtRuntime.create({ backend: 'webgpu' });
    const alone = await run(fresh, 1e-5);
    await fresh.dispose();
    const shared = await OrtRuntime.create({ backend: 'webgpu' });
    await run(shared, 1e-2); // its session stays alive: same ORT context, same program cache
    const after = await run(shared, 1e-5);
    await shared.dispose();
    const cpu = await OrtRuntime.create({ backend: 'wasm' });
    const reference = await run(cpu, 1e-5);
    await cpu.dispose();
    expect(maxAbsDiff(alone, reference)).toBeLessThan(1e-5);
    // The ε = 1e-2 program served the ε = 1e-5 node: off by ~1 on inputs of size 0.01.
    expect(maxAbsDiff(after, reference)).toBeGreaterThan(0.1);
  }, TIMEOUT);
});

describe('Ldm3dPipeline memory policies on WebGPU', () => {
  const tracker = new GpuBufferTracker();
  const results = new Map<string, GenerateResult>();
  let residentPeak = 0;
  let residentIdle = 0;
  beforeAll(() => {
    installNodeWebGPU();
    tracker.install();
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => tracker.uninstall());

  it('resident: every session stays, and ORT keeps its buffers between generations', async () => {
    const pipe = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu', memory: 'resident' });
    try {
      const device = deviceOf(pipe);
      for (const name of CASES) {
        tracker.resetPeak();
        const out = await pipe.generate(caseOptions(name));
        expectGolden(name, out);
        results.set(name, out);
        residentPeak = Math.max(residentPeak, tracker.stats().peakBytes);
      }
      residentIdle = tracker.liveBytesOn(device);
      expect(pipe.loadedSessions).toEqual(['text_encoder', 'unet', 'vae_decoder']);
    } finally {
      await pipe.dispose();
    }
    expect(tracker.stats().liveBytes, 'disposing the pipeline frees every buffer').toBe(0);
  }, TIMEOUT);

  it('staged: same results (bit-identical where ORT itself is), one session at a time, and the GPU buffers go back to the idle level after each generation', async () => {
    const spy = spyOnSessions();
    const pipe = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu', memory: 'staged', vaeTiling: 'off' });
    try {
      const device = deviceOf(pipe);
      // What stays between generations: our own kernels' buffers, no ORT buffer at all.
      const idle = tracker.liveBytesOn(device);
      expect(pipe.loadedSessions).toEqual([]);
      console.log(`GPU buffers between generations: resident ${(residentIdle / 1024).toFixed(0)} KiB, staged ${(idle / 1024).toFixed(0)} KiB`);
      expect(idle).toBeLessThan(residentIdle / 4);
      let stagedPeak = 0;
      for (const name of CASES) {
        spy.clear();
        tracker.resetPeak();
        const live: string[][] = [];
        const out = await pipe.generate(caseOptions(name, { onProgress: () => live.push(spy.live(runtimeOf(pipe))) }));
        stagedPeak = Math.max(stagedPeak, tracker.stats().peakBytes);
        expect(spy.created).toEqual(['text_encoder', 'unet', 'vae_decoder']);
        expect(spy.released).toEqual(['text_encoder', 'unet', 'vae_decoder']);
        for (const l of live) expect(l).toEqual(['unet']);
        expect(tracker.liveBytesOn(device), `${name}: back to idle`).toBe(idle);
        if (name === 'ddim-1-step') {
          expectIdentical(results.get(name)!, out, `${name}: staged vs resident`);
        } else {
          // Batch 1: the resident pipeline's UNet and VAE share ORT's per-device program cache, and
          // ORT's InstanceNormalization (GroupNorm) program bakes epsilon into the shader without
          // putting it in the cache key: at batch 1 the UNet's (ε 1e-5) and the VAE's (ε 1e-6)
          // GroupNorms get the same key, so whichever compiles first serves both (WASM is exact;
          // docs/performance.md). Staged gives every stage a fresh context, so it is not affected
          // and does not depend on what ran before: the same run again is bit-identical.
          expect(maxAbsDiff(results.get(name)!.rgbFloat, out.rgbFloat)).toBeLessThan(1e-3);
          const again = await pipe.generate(caseOptions(name));
          expectIdentical(out, again, `${name}: staged, run twice`);
        }
      }
      console.log(`GPU buffer peak during a generation: resident ${(residentPeak / 1024).toFixed(0)} KiB, staged ${(stagedPeak / 1024).toFixed(0)} KiB`);
      expect(stagedPeak).toBeLessThan(residentPeak);
    } finally {
      await pipe.dispose();
    }
  }, TIMEOUT);

  it('warm-up: resident stays loaded and the next default generation creates nothing; staged keeps nothing; both cancel', async () => {
    const spy = spyOnSessions();
    const resident = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu', memory: 'resident' });
    const staged = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu', memory: 'staged' });
    try {
      const w = await resident.warmUp();
      expect(Object.keys(w.timings)).toEqual(['text_encoder', 'unet', 'vae_decoder', 'total']);
      expect([w.batch, w.height, w.width]).toEqual([2, 64, 128]);
      spy.clear();
      const out = await resident.generate(caseOptions('ddim-1-step'));
      expect(spy.created, 'the warmed sessions are the ones used').toEqual([]);
      expectIdentical(results.get('ddim-1-step')!, out, 'after a warm-up');

      const idle = tracker.liveBytesOn(deviceOf(staged));
      spy.clear();
      const ws = await staged.warmUp();
      expect(ws.timings.unetCreate).toBeGreaterThan(0);
      expect(spy.created).toEqual(['text_encoder', 'unet', 'vae_decoder']);
      expect(spy.live(runtimeOf(staged))).toEqual([]);
      expect(tracker.liveBytesOn(deviceOf(staged))).toBe(idle);

      // Cancelled while the text encoder is being created: no session is left behind.
      const controller = new AbortController();
      const cancelled = staged.warmUp(controller.signal);
      controller.abort();
      expect(isPipelineError(await cancelled.catch((e: unknown) => e), 'cancelled')).toBe(true);
      expect(spy.live(runtimeOf(staged))).toEqual([]);
      const pre = new AbortController();
      pre.abort();
      expect(isPipelineError(await resident.warmUp(pre.signal).catch((e: unknown) => e), 'cancelled')).toBe(true);
      // A warm-up refuses to run beside a generation (the worker host cancels it before generating).
      const run = staged.generate(caseOptions('ddim-1-step'));
      expect(isPipelineError(await staged.warmUp().catch((e: unknown) => e), 'busy')).toBe(true);
      expectIdentical(results.get('ddim-1-step')!, await run, 'staged after a cancelled warm-up');
    } finally {
      await resident.dispose();
      await staged.dispose();
    }
  }, TIMEOUT);
});
