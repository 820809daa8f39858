import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { installNodeWebGPU } from '../../src/runtime/node-webgpu';
import * as ort from 'onnxruntime-web/webgpu';

it('ep', async () => {
  installNodeWebGPU();
  ort.env.wasm.numThreads = 1;
  const counts = { submit: 0, dispatch: 0 };
  const G = globalThis as any;
  const wrap = (proto: any, name: string, key: keyof typeof counts) => { const o = proto[name]; proto[name] = function (...a: any[]) { counts[key]++; return o.apply(this, a); }; };
  wrap(G.GPUQueue.prototype, 'submit', 'submit');
  wrap(G.GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatch');
  const dir = 'models/tiny/ldm3d-pano/';
  const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
  for (const layout of ['NHWC', 'NCHW'] as const) {
    const vae = await ort.InferenceSession.create(new Uint8Array(readFileSync(dir + 'vae_decoder/model.onnx')), { executionProviders: [{ name: 'webgpu', device, preferredLayout: layout } as any] });
    const unet = await ort.InferenceSession.create(new Uint8Array(readFileSync(dir + 'unet/model.onnx')), { executionProviders: [{ name: 'webgpu', device, preferredLayout: layout } as any], externalData: ['model.onnx_data', 'model.onnx_data_1'].map((p) => ({ path: p, data: new Uint8Array(readFileSync(dir + 'unet/' + p)) })) });
    for (let i = 0; i < 2; i++) {
      counts.submit = counts.dispatch = 0;
      let t = performance.now();
      await vae.run({ latent_sample: new ort.Tensor('float32', new Float32Array(4 * 8 * 16), [1, 4, 8, 16]) });
      console.log(layout, 'vae', (performance.now() - t).toFixed(0), JSON.stringify(counts));
      counts.submit = counts.dispatch = 0;
      t = performance.now();
      await unet.run({ sample: new ort.Tensor('float32', new Float32Array(2 * 4 * 8 * 16), [2, 4, 8, 16]), timestep: new ort.Tensor('float32', new Float32Array([500]), []), encoder_hidden_states: new ort.Tensor('float32', new Float32Array(2 * 77 * 32), [2, 77, 32]) });
      console.log(layout, 'unet', (performance.now() - t).toFixed(0), JSON.stringify(counts));
    }
  }
}, 900_000);
