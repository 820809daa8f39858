/**
 * Which WebGPU limits the runtime requests (src/runtime/limits.ts), without a GPU: the tiny models
 * need nothing above WebGPU's defaults; a model with a larger tensor raises exactly that much and
 * never more than the adapter allows; a model whose weights cannot fit says so. And the ONNX reader
 * those sizes come from (src/runtime/onnx-read.ts) against graphs written by onnx-proto.ts and the
 * exporter's tiny graphs.
 */
import { describe, expect, it } from 'vitest';
import { folderSource } from '../../src/node/folder-source';
import {
  bufferSizeFor,
  evalDim,
  graphNeeds,
  modelNeeds,
  requestLimits,
  WEBGPU_DEFAULT_LIMITS,
  type ModelNeeds,
} from '../../src/runtime/limits';
import { encodeModel } from '../../src/runtime/onnx-proto';
import { readGraph } from '../../src/runtime/onnx-read';

const MIB = 2 ** 20;

/** SwiftShader's adapter limits (1 GiB buffers), and a desktop GPU's. */
const SWIFTSHADER = { ...WEBGPU_DEFAULT_LIMITS, maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30, maxComputeWorkgroupStorageSize: 32768, maxStorageBuffersPerShaderStage: 12 };
const BIG_GPU = { ...SWIFTSHADER, maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 31 - 4 };

/** A graph whose only large tensor is its input: `elements` float32 values. */
function inputGraph(elements: number): Uint8Array {
  return encodeModel({
    inputs: [{ name: 'x', type: 'float32', shape: [1, elements] }],
    outputs: [{ name: 'y', type: 'float32', shape: [1, elements] }],
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
  });
}

/** One MultiHeadAttention node at symbolic batch and sequence: scores [batch, heads, seq, seq]. */
function mhaGraph(heads: number, hidden: number): Uint8Array {
  const shape = ['batch', 'seq', hidden];
  return encodeModel({
    opsets: { '': 17, 'com.microsoft': 1 },
    inputs: ['q', 'k', 'v'].map((name) => ({ name, type: 'float32' as const, shape })),
    outputs: [{ name: 'o', type: 'float32', shape }],
    nodes: [{ op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'k', 'v'], outputs: ['o'], attributes: { num_heads: { int: heads } } }],
  });
}

const oneGraph = (file: string, model: Uint8Array, b1: Record<string, number>, b2: Record<string, number>): ModelNeeds => {
  const g = readGraph(model);
  const batch1 = graphNeeds(file, g, b1);
  const batch2 = graphNeeds(file, g, b2);
  return {
    certain: batch1.certain,
    attentionScores: batch1.attentionScores,
    largest: [batch2.certain, batch2.intermediates, batch2.attentionScores, batch1.certain].reduce((a, b) => (!a || (b && b.bytes > a.bytes) ? b : a), null),
    undeclared: batch2.undeclared,
  };
};

describe('onnx-read', () => {
  it('reads initializers, inputs, outputs and integer attributes of a graph onnx-proto.ts wrote', () => {
    const model = encodeModel({
      opsets: { '': 17, 'com.microsoft': 1 },
      inputs: [{ name: 'q', type: 'float32', shape: ['batch', 4096, 320] }],
      outputs: [{ name: 'o', type: 'float32', shape: ['batch', 4096, 320] }],
      nodes: [{ op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'q', 'q'], outputs: ['o'], attributes: { num_heads: { int: 8 } } }],
      initializers: [{ name: 'w', dims: [3, 5], data: new Int8Array(15), type: 'int8' }],
    });
    const g = readGraph(model);
    expect(g.initializers).toEqual([{ name: 'w', elemType: 3, dims: [3, 5] }]);
    expect(g.inputs).toEqual([{ name: 'q', elemType: 1, dims: ['batch', 4096, 320] }]);
    expect(g.nodes).toEqual([{ op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'q', 'q'], outputs: ['o'], ints: { num_heads: 8 } }]);
  });

  it("reads the exporter's tiny UNet: weights stored as external data keep their dims, value_info has symbolic shapes", async () => {
    const source = await folderSource('models/tiny/ldm3d-pano-int8');
    const g = readGraph(await source.read('unet/model.onnx'));
    expect(g.initializers.length).toBeGreaterThan(100);
    expect(g.inputs.map((t) => t.name)).toEqual(['sample', 'timestep', 'encoder_hidden_states']);
    expect(g.inputs[0]?.dims).toEqual(['batch', 4, 'latent_height', 'latent_width']);
    expect(g.valueInfo.length).toBeGreaterThan(100);
    expect(g.nodes.filter((n) => n.op === 'MultiHeadAttention').every((n) => n.ints.num_heads === 2)).toBe(true);
  });
});

describe('evalDim', () => {
  it("evaluates the exporter's expressions with Python's integer semantics", () => {
    const b = { latent_height: 8, latent_width: 16, batch: 2 };
    expect(evalDim('batch', b)).toBe(2);
    expect(evalDim('8*latent_height', b)).toBe(64);
    expect(evalDim('(((latent_height - 1)//2)) + 1', b)).toBe(4);
    expect(evalDim('((((latent_height - 1)//2)) + 1)*((((latent_width - 1)//2)) + 1)', b)).toBe(32);
    expect(evalDim('(-7)//2', b)).toBe(-4);
    expect(evalDim('unknown_dim', b)).toBeNull();
    expect(evalDim('latent_height +', b)).toBeNull();
    expect(evalDim('sqrt(latent_height)', b)).toBeNull();
  });
});

describe('requested limits', () => {
  it("the tiny models need nothing above WebGPU's defaults: 'needed' requests no limit at all", async () => {
    for (const dir of ['models/tiny/ldm3d-pano', 'models/tiny/ldm3d-pano-int8']) {
      const needs = await modelNeeds(await folderSource(dir));
      expect(needs.largest!.bytes, dir).toBeGreaterThan(0);
      expect(needs.largest!.bytes, dir).toBeLessThan(WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize);
      const r = requestLimits('needed', SWIFTSHADER, needs, false);
      expect(r.requiredLimits, dir).toEqual({});
      expect(r.raised).toEqual([]);
      expect(r.limits).toEqual(WEBGPU_DEFAULT_LIMITS);
      expect(r.unmet).toBeNull();
      expect(r.description).toBe('limits: needed (128 MiB binding, 256 MiB buffer)');
      // With subgroups, ORT's subgroup kernels get the adapter's kernel limits; the sizes stay the defaults.
      const on = requestLimits('needed', SWIFTSHADER, needs, true);
      expect(on.requiredLimits, dir).toEqual({ maxComputeWorkgroupStorageSize: 32768, maxStorageBuffersPerShaderStage: 12 });
      expect(on.description).toBe("limits: needed (128 MiB binding, 256 MiB buffer; kernel limits: the adapter's, for subgroup kernels)");
    }
  });

  it("'default' requests nothing and 'adapter' the adapter's maxima, whatever the model", () => {
    const needs = oneGraph('g.onnx', inputGraph((100 * MIB) / 4), {}, {});
    expect(requestLimits('default', BIG_GPU, needs, false).requiredLimits).toEqual({});
    expect(requestLimits('default', BIG_GPU, needs, false).description).toBe('limits: default (128 MiB binding, 256 MiB buffer)');
    const adapter = requestLimits('adapter', BIG_GPU, needs, false);
    expect(adapter.requiredLimits.maxBufferSize).toBe(2 ** 40);
    expect(adapter.requiredLimits.maxStorageBufferBindingSize).toBe(2 ** 31 - 4);
    expect(adapter.requiredLimits.maxComputeWorkgroupStorageSize).toBe(32768);
    // No needs known: 'needed' cannot size anything and asks for what ORT would.
    expect(requestLimits('needed', BIG_GPU, null, false).requiredLimits).toEqual(adapter.requiredLimits);
  });

  it('a model with a 300 MiB tensor raises exactly the two size limits, to that size', () => {
    const elements = (300 * MIB) / 4 + 3; // not a multiple of 16 bytes: ORT rounds buffers up
    const needs = oneGraph('big.onnx', inputGraph(elements), {}, {});
    expect(needs.largest!.bytes).toBe(elements * 4);
    expect(needs.largest!.what).toBe(`big.onnx: input x [1, ${elements}] float32`);
    const r = requestLimits('needed', BIG_GPU, needs, false);
    expect(r.requiredLimits).toEqual({ maxBufferSize: bufferSizeFor(elements * 4), maxStorageBufferBindingSize: bufferSizeFor(elements * 4) });
    expect(r.raised).toEqual(['maxBufferSize', 'maxStorageBufferBindingSize']);
    expect(r.description).toBe('limits: needed (raised: 300 MiB binding, 300 MiB buffer)');
    expect(r.unmet).toBeNull();
  });

  it("never above the adapter's limits, and a weight past the adapter's maxBufferSize is unmet", () => {
    const needs = oneGraph('big.onnx', inputGraph((300 * MIB) / 4), {}, {});
    const small = { ...WEBGPU_DEFAULT_LIMITS, maxBufferSize: 200 * MIB, maxStorageBufferBindingSize: 150 * MIB };
    const r = requestLimits('needed', small, needs, false);
    expect(r.requiredLimits).toEqual({ maxStorageBufferBindingSize: 150 * MIB });
    expect(r.unmet).toMatch(/^big\.onnx: input x \[1, 78643200\] float32 needs a 300 MiB GPU buffer, but this device's maxBufferSize is 256 MiB\./);
    expect(r.unmet).toMatch(/int8 export/);
    // 'default' on a GPU that could: the message says that 'needed' would fit.
    expect(requestLimits('default', BIG_GPU, needs, false).unmet).toMatch(/this GPU allows 1024 GiB: load with limits 'needed' or 'adapter'/);
  });

  it('attention scores: certain without subgroups (an error under the defaults), only asked for with them', () => {
    // SD's top level at 512×1024: 8 heads over 8192 tokens; scores [1, 8, 8192, 8192] float32 = 2 GiB at batch 1.
    const needs = oneGraph('unet/model.onnx', mhaGraph(8, 320), { batch: 1, seq: 8192 }, { batch: 2, seq: 8192 });
    expect(needs.attentionScores!.bytes).toBe(2 * 2 ** 30);
    expect(needs.largest!.bytes).toBe(4 * 2 ** 30);
    const off = requestLimits('default', BIG_GPU, needs, false);
    expect(off.unmet).toMatch(/attention scores of MultiHeadAttention o \[1, 8, 8192, 8192\] float32 needs a 2 GiB GPU buffer, but this device's maxBufferSize is 256 MiB/);
    expect(off.unmet).toMatch(/--attention sliced/);
    expect(off.unmet).toMatch(/subgroups/);
    // With subgroups ORT may use flash attention: not an error, and 'needed' asks for room in case it does not.
    const on = requestLimits('needed', BIG_GPU, needs, true);
    expect(on.unmet).toBeNull();
    expect(on.requiredLimits.maxBufferSize).toBe(4 * 2 ** 30);
    expect(on.requiredLimits.maxStorageBufferBindingSize).toBe(2 ** 31 - 4);
    expect(on.requiredLimits.maxComputeWorkgroupStorageSize).toBe(32768);
    // A sliced-attention-sized graph (scores ≤ 256 MiB) fits the defaults.
    const sliced = oneGraph('unet/model.onnx', mhaGraph(8, 320), { batch: 1, seq: 2048 }, { batch: 2, seq: 2048 });
    expect(requestLimits('default', BIG_GPU, sliced, false).unmet).toBeNull();
  });
});
