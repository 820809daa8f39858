import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { installNodeWebGPU } from '../../src/runtime/node-webgpu';
import { OrtRuntime, cpuTensor } from '../../src/runtime/ort';

it('ep', async () => {
  installNodeWebGPU();
  const counts = { submit: 0, map: 0, dispatch: 0, pipelines: 0, writeBuffer: 0 };
  const G = globalThis as any;
  const wrap = (proto: any, name: string, key: keyof typeof counts) => { const o = proto[name]; proto[name] = function (...a: any[]) { counts[key]++; return o.apply(this, a); }; };
  wrap(G.GPUQueue.prototype, 'submit', 'submit');
  wrap(G.GPUQueue.prototype, 'writeBuffer', 'writeBuffer');
  wrap(G.GPUBuffer.prototype, 'mapAsync', 'map');
  wrap(G.GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatch');
  wrap(G.GPUDevice.prototype, 'createComputePipelineAsync', 'pipelines');
  wrap(G.GPUDevice.prototype, 'createComputePipeline', 'pipelines');
  const dir = 'models/tiny/ldm3d-pano/';
  const rt = await OrtRuntime.create({ backend: 'webgpu' });
  const unet = await rt.createSession({ label: 'unet', file: 'u', model: new Uint8Array(readFileSync(dir + 'unet/model.onnx')), externalData: ['model.onnx_data', 'model.onnx_data_1'].map((p) => ({ path: p, data: new Uint8Array(readFileSync(dir + 'unet/' + p)) })) });
  const vae = await rt.createSession({ label: 'vae', file: 'v', model: new Uint8Array(readFileSync(dir + 'vae_decoder/model.onnx')) });
  for (let i = 0; i < 3; i++) {
    for (const k in counts) (counts as any)[k] = 0;
    let t = performance.now();
    await unet.run({ sample: cpuTensor('float32', new Float32Array(2 * 4 * 8 * 16), [2, 4, 8, 16]), timestep: cpuTensor('float32', new Float32Array([500]), []), encoder_hidden_states: cpuTensor('float32', new Float32Array(2 * 77 * 32), [2, 77, 32]) });
    console.log('unet', (performance.now() - t).toFixed(0), JSON.stringify(counts));
    for (const k in counts) (counts as any)[k] = 0;
    t = performance.now();
    await vae.run({ latent_sample: cpuTensor('float32', new Float32Array(4 * 8 * 16), [1, 4, 8, 16]) });
    console.log('vae', (performance.now() - t).toFixed(0), JSON.stringify(counts));
  }
  await rt.dispose();
}, 900_000);
