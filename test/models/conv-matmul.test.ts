/**
 * Convolutions as explicit im2col + MatMul (issue 11, models/conv_matmul.py) on the committed tiny
 * export models/tiny/ldm3d-pano-int8-mm (the int8 headset export, rewritten):
 *  - no Conv is left in the rewritten graphs (so onnxruntime's WebGPU EP has no layout change and no
 *    per-call weight transpose to do) and the manifest says which graphs were rewritten;
 *  - every golden case of the int8 set (diffusers with the same int8-rounded weights) holds the
 *    issue's bound on WASM (with the latents after every step) and on WebGPU (Dawn; SwiftShader
 *    without a GPU): the rewrite changes only the order of the sums.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { readGraph } from '../../src/runtime/onnx-read';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { loadCases } from '../pipeline/goldens';
import { runCase, TOLERANCE } from '../pipeline/parity';

const DIR = 'models/tiny/ldm3d-pano-int8-mm';
const PLAIN = 'models/tiny/ldm3d-pano-int8';
const TIMEOUT = 600_000;

interface ManifestJson {
  sessions: Record<string, { file: string }>;
  conv_matmul?: { sessions: string[]; max_cols_mib: number };
}
const manifestOf = (dir: string): ManifestJson => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ManifestJson;
const opsOf = (dir: string, session: string): string[] =>
  readGraph(new Uint8Array(readFileSync(join(dir, manifestOf(dir).sessions[session].file)))).nodes.map((n) => n.op);

describe('the rewritten graphs', () => {
  it('the manifest names the rewritten graphs, and none of them has a Conv left', () => {
    const m = manifestOf(DIR);
    expect(m.conv_matmul?.sessions).toEqual(['unet', 'vae_decoder', 'vae_encoder']);
    for (const s of m.conv_matmul!.sessions) {
      const before = opsOf(PLAIN, s).filter((op) => op === 'Conv').length;
      const after = opsOf(DIR, s);
      expect(before, `${s}: the plain export has convolutions`).toBeGreaterThan(0);
      expect(after.filter((op) => op === 'Conv'), s).toEqual([]);
      // one MatMul per former Conv, on top of the graph's own
      const matmuls = (ops: string[]): number => ops.filter((op) => op === 'MatMul').length;
      expect(matmuls(after) - matmuls(opsOf(PLAIN, s)), s).toBe(before);
    }
  });
});

for (const backend of ['wasm', 'webgpu'] as const) {
  describe(`on ${backend}`, () => {
    let pipe: Ldm3dPipeline;
    beforeAll(async () => {
      if (backend === 'webgpu') installNodeWebGPU();
      pipe = await Ldm3dPipeline.load(await folderSource(DIR), { backend });
    }, TIMEOUT);
    afterAll(() => pipe?.dispose());

    // SwiftShader is slow (the negative-prompt case alone takes minutes there): WebGPU runs one case,
    // WASM all of them with every step's latents
    const all = loadCases('ldm3d-pano-int8').cases;
    const cases = backend === 'webgpu' ? all.filter((c) => c.name === 'guidance-1') : all;
    it('has the cases it runs', () => expect(cases.length).toBeGreaterThan(0));
    for (const c of cases) {
      it(`golden case ${c.name} within 2e-3 of diffusers (int8 weights)`, async () => {
        expect(pipe.backend).toBe(backend);
        const e = await runCase(pipe, c, backend === 'wasm', 'ldm3d-pano-int8');
        console.log(`${backend} conv-as-matmul ${e.name}: rgb ${e.rgb.toExponential(2)} depth ${e.depth.toExponential(2)} latents ${e.latents.toExponential(2)}`);
        expect(e.rgb, 'rgb').toBeLessThanOrEqual(TOLERANCE);
        expect(e.depth, 'depth').toBeLessThanOrEqual(TOLERANCE);
        if (backend === 'wasm') expect(e.latents, 'latents').toBeLessThanOrEqual(1e-4);
      }, TIMEOUT);
    }
  });
}
