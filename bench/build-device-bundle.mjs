#!/usr/bin/env node
// Builds what the GPU machine needs to run bench/pano-webgpu.ts without node_modules (which is
// 300+ MB and cannot travel): one bundled .mjs of the bench + our src/, and a tar.xz of the two
// packages left external because they load files next to themselves at run time
// (onnxruntime-web: its wasm + Emscripten glue; webgpu: dawn.node). Output: .carry/bench/ (ignored).
//
//   node bench/build-device-bundle.mjs        then carry .carry/bench (see bench/run-device.sh)
//   node bench/build-device-bundle.mjs --bundle-only   (just the .mjs; also how to run it locally:
//        tsx cannot load the shaders' `?raw` imports, the bundle can)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.carry/bench');
mkdirSync(out, { recursive: true });

// Vite's `?raw` imports (shaders) become plain strings, as Vite would make them.
const rawPlugin = {
  name: 'raw',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (a) => ({ path: join(a.resolveDir, a.path.replace(/\?raw$/, '')), namespace: 'raw' }));
    b.onLoad({ filter: /.*/, namespace: 'raw' }, (a) => ({ contents: readFileSync(a.path, 'utf8'), loader: 'text' }));
  },
};

// @huggingface/transformers' Node build imports onnxruntime-node and sharp at the top level; the
// pipeline uses only its tokenizer there, so those two are replaced by empty modules in the bundle
// (the device has neither, and they would be a second onnxruntime).
const stubPlugin = {
  name: 'stub-native',
  setup(b) {
    b.onResolve({ filter: /^(onnxruntime-node|sharp)(\/.*)?$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'export default {}; export const InferenceSession = undefined; export const Tensor = undefined; export const env = {}; export const listSupportedBackends = () => [];',
      loader: 'js',
    }));
  },
};

for (const name of ['pano-webgpu', 'mha-smoke', 'sr-webgpu', 'parity-webgpu']) await build({
  entryPoints: [join(root, `bench/${name}.ts`)],
  outfile: join(out, `${name}.mjs`),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['onnxruntime-web', 'onnxruntime-web/*', 'webgpu'],
  plugins: [rawPlugin, stubPlugin],
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
  sourcemap: false,
});

// LDM3D-SR's PyTorch reference (bench/run-device-sr.sh) needs diffusers' community pipeline file,
// which is never committed (models/goldens_sr.py): it travels inside .carry/bench when it is here.
const community = join(root, '.carry/examples/community/pipeline_stable_diffusion_upscale_ldm3d.py');
if (existsSync(community)) copyFileSync(community, join(out, 'pipeline_stable_diffusion_upscale_ldm3d.py'));
else console.warn(`${community} is missing: bench/run-device-sr.sh will run without the PyTorch reference`);

// The DeepCache authors' code (horseee/DeepCache, never committed) for the DeepCache goldens and the
// PyTorch reference (bench/run-device-deepcache-goldens.sh, bench/torch_reference.py --deepcache-interval):
// a tar of the folder DeepCache/, unpacked to /tmp/py on the device.
const deepcacheSrc = join(root, '.carry/src/DeepCache');
if (existsSync(join(deepcacheSrc, 'extension/deepcache.py'))) {
  rmSync(join(out, 'deepcache.tar.xz'), { force: true });
  execFileSync('tar', ['-C', join(root, '.carry/src'), '--exclude=__pycache__', '-cJf', join(out, 'deepcache.tar.xz'), 'DeepCache'], {
    stdio: 'inherit',
  });
} else console.warn(`${deepcacheSrc}/extension/deepcache.py is missing: no DeepCache reference on the device`);

if (process.argv.includes('--bundle-only')) process.exit(0);

// The external packages, only the files they load on Linux x64 (no source maps, no other platforms).
const ortDist = join(root, 'node_modules/onnxruntime-web/dist');
const ortFiles = readdirSync(ortDist)
  // src/runtime/ort.ts imports 'onnxruntime-web/webgpu': ORT's native WebGPU EP, asyncify wasm.
  .filter((f) => /^ort\.webgpu\..*mjs$|^ort-wasm-simd-threaded\.asyncify\.(mjs|wasm)$/.test(f))
  .map((f) => `node_modules/onnxruntime-web/dist/${f}`);
const files = [
  'node_modules/onnxruntime-web/package.json',
  ...ortFiles,
  'node_modules/webgpu/package.json',
  'node_modules/webgpu/index.js',
  'node_modules/webgpu/dist/linux-x64/dawn.node',
];
rmSync(join(out, 'node_modules.tar.xz'), { force: true });
execFileSync('tar', ['-C', root, '-cJf', join(out, 'node_modules.tar.xz'), ...files], {
  stdio: 'inherit',
  env: { ...process.env, XZ_OPT: '-6 -T2' },
});
for (const f of readdirSync(out)) console.log(`${f}\t${(statSync(join(out, f)).size / 2 ** 20).toFixed(1)} MiB`);
