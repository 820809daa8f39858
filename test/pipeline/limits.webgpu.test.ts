/**
 * What a headset's browser gives a page that asks for nothing: WebGPU's default limits (256 MiB
 * buffers, 128 MiB bindings) and no 'subgroups' (so no flash attention). The tiny models, float32
 * and int8, give the diffusers goldens under exactly that (Dawn; SwiftShader without a GPU), and the
 * model line says which limits and subgroup setting the device got. Two golden cases per model on
 * one pipeline each (SwiftShader is slow; pano/pipeline.webgpu.test.ts and narrow-weights.webgpu.test.ts
 * run every case under the 'needed' limits).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { WEBGPU_DEFAULT_LIMITS } from '../../src/runtime/limits';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { loadCases, type GoldenSet } from './goldens';
import { runCase, TOLERANCE } from './parity';

const TIMEOUT = 600_000;
const CASES = ['negative-prompt', 'ddim-1-step'];
const MODELS: ReadonlyArray<{ dir: string; set: GoldenSet }> = [
  { dir: 'models/tiny/ldm3d-pano', set: 'ldm3d-pano' },
  { dir: 'models/tiny/ldm3d-pano-int8', set: 'ldm3d-pano-int8' },
];

/** The device the pipeline's runtime owns (private; read here to check its limits). */
function deviceOf(p: Ldm3dPipeline): GPUDevice {
  return (p as unknown as { runtime: { device: GPUDevice } }).runtime.device;
}

beforeAll(() => {
  installNodeWebGPU();
});

for (const m of MODELS) {
  describe(`${m.dir} under WebGPU's default limits, subgroups off`, () => {
    let pipe: Ldm3dPipeline;
    beforeAll(async () => {
      pipe = await Ldm3dPipeline.load(await folderSource(m.dir), { backend: 'webgpu', limits: 'default', subgroups: 'off' });
    }, TIMEOUT);
    afterAll(() => pipe?.dispose());

    it('the device has exactly the default limits and no subgroups, and the model line says so', () => {
      expect(pipe.backend).toBe('webgpu');
      const device = deviceOf(pipe);
      for (const [k, v] of Object.entries(WEBGPU_DEFAULT_LIMITS)) expect(device.limits[k as keyof GPUSupportedLimits], k).toBe(v);
      expect(device.features.has('subgroups')).toBe(false);
      expect(pipe.runtimeSummary).toMatch(/; subgroups off \(.*?\); limits: default \(128 MiB binding, 256 MiB buffer\);/);
    });

    for (const name of CASES) {
      it(`golden case ${name} within 2e-3`, async () => {
        const c = loadCases(m.set).cases.find((k) => k.name === name);
        if (!c) throw new Error(`${m.set} has no golden case ${name}`);
        const e = await runCase(pipe, c, false, m.set);
        console.log(`webgpu default limits, subgroups off, ${m.set} ${e.name}: rgb ${e.rgb.toExponential(2)} depth ${e.depth.toExponential(2)}`);
        expect(e.rgb, 'rgb').toBeLessThanOrEqual(TOLERANCE);
        expect(e.depth, 'depth').toBeLessThanOrEqual(TOLERANCE);
      }, TIMEOUT);
    }
  });
}
