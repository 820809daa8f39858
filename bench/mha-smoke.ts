/**
 * Does onnxruntime-web (the app's build, via src/runtime/ort.ts) run com.microsoft.MultiHeadAttention
 * graphs on wasm and on WebGPU? Runs each given .onnx (one MHA node: inputs q, k, v; output o) with
 * inputs/reference written next to it by bench/mha_smoke.py (raw float32, `NAME.onnx.{q,k,v,ref}.bin`)
 * and prints max |ort-web − ref| per backend. A check that prints, not a test: it needs the
 * numpy-made files and a WebGPU adapter.
 *
 *   python bench/mha_smoke.py /tmp/mha
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npx tsx bench/mha-smoke.ts /tmp/mha/*.onnx
 * (BACKENDS='webgpu' to skip wasm; SUBGROUPS='auto'|'on'|'off' for the WebGPU device, default 'auto',
 * which leaves them off on SwiftShader: SUBGROUPS=on reproduces ORT's wrong results there.)
 * On WebGPU it first prints the runtime's subgroup decision and the cost of the load-time
 * fused-attention self-test (src/runtime/attention-check.ts) for each of auto/on/off; that part needs
 * no files (`npx tsx bench/mha-smoke.ts` alone). On the GPU machine it runs bundled
 * (build-device-bundle.mjs).
 */
import { readFileSync } from 'node:fs';
import { installNodeWebGPU } from '../src/node/webgpu';
import { OrtRuntime, cpuTensor, type Backend, type SubgroupPolicy } from '../src/runtime/ort';
import { describeAttentionCheck } from '../src/runtime/attention-check';

installNodeWebGPU();
const f32 = (p: string): Float32Array => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const backends = (process.env.BACKENDS ?? 'wasm webgpu').split(' ').filter((b) => b) as Backend[];
const subgroups = (process.env.SUBGROUPS ?? 'auto') as SubgroupPolicy;

if (backends.includes('webgpu')) {
  for (const policy of ['auto', 'on', 'off'] as const) {
    const t0 = performance.now();
    const rt = await OrtRuntime.create({ backend: 'webgpu', subgroups: policy, verifyAttention: true });
    const createMs = performance.now() - t0;
    // Again on the same device: what the check costs once ORT and its shader cache are warm.
    const again = await rt.verifyFusedAttention();
    console.log(`self-test subgroups=${policy}: create with verifyAttention ${createMs.toFixed(0)} ms → ${rt.summary}`);
    for (const a of rt.attentionChecks) console.log(`  attempt (subgroups ${a.subgroups ? 'on' : 'off'}): ${describeAttentionCheck(a)}`);
    console.log(`  again on the same device: ${describeAttentionCheck(again)}`);
    await rt.dispose();
  }
}

for (const backend of backends) {
  const rt = await OrtRuntime.create({ backend, subgroups });
  if (backend === 'webgpu') console.log(rt.summary);
  for (const file of process.argv.slice(2)) {
    const ref = f32(`${file}.ref.bin`);
    const q = f32(`${file}.q.bin`);
    const k = f32(`${file}.k.bin`);
    const s = await rt.createSession({ label: 'mha', file, model: new Uint8Array(readFileSync(file)) });
    const meta = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { n: number; m: number; hidden: number };
    const feeds = {
      q: cpuTensor('float32', q, [2, meta.n, meta.hidden]),
      k: cpuTensor('float32', k, [2, meta.m, meta.hidden]),
      v: cpuTensor('float32', f32(`${file}.v.bin`), [2, meta.m, meta.hidden]),
    };
    const t0 = performance.now();
    const out = await s.run(feeds);
    const first = performance.now() - t0;
    const t1 = performance.now();
    await s.run(feeds);
    const second = performance.now() - t1;
    const got = (await out.o!.getData()) as Float32Array;
    let err = 0;
    for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(got[i]! - ref[i]!));
    console.log(`${backend} ${file}: dims ${out.o!.dims.join('x')}, max|ort-web - ref| = ${err.toExponential(2)}, first run ${first.toFixed(0)} ms, second ${second.toFixed(0)} ms (with upload + read-back)`);
    await s.release();
  }
  await rt.dispose();
}
