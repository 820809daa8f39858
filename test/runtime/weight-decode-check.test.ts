/**
 * The load-time self-test of narrowed-weight decoding (src/runtime/weight-decode-check.ts): it passes
 * where onnxruntime decodes exactly (WASM, WebGPU on Dawn/SwiftShader) and fails on any wrong value,
 * and a runtime created for a narrowed model reports it on the model line.
 */
import { describe, expect, it } from 'vitest';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { OrtRuntime } from '../../src/runtime/ort';
import {
  checkWeightDecode,
  describeWeightDecodeCheck,
  float16DecodeCase,
  float16Value,
  int8DecodeCase,
  type NarrowStorage,
} from '../../src/runtime/weight-decode-check';

const STORAGES: readonly NarrowStorage[] = ['float16-widened', 'int8-per-channel'];

describe('float16Value', () => {
  it('decodes float16 bit patterns like IEEE 754 binary16', () => {
    expect(float16Value(0x3c00)).toBe(1);
    expect(float16Value(0xc000)).toBe(-2);
    expect(float16Value(0x7bff)).toBe(65504);
    expect(float16Value(0x0001)).toBe(2 ** -24);
    expect(float16Value(0x3555)).toBeCloseTo(1 / 3, 3);
    expect(float16Value(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(float16Value(0x7e00))).toBe(true);
  });
});

describe('checkWeightDecode', () => {
  it('fails when a single value is wrong, and says how many', async () => {
    for (const storage of STORAGES) {
      const { want } = storage === 'float16-widened' ? float16DecodeCase() : int8DecodeCase();
      const wrong = Float32Array.from(want);
      wrong[1234] = wrong[1234]! + 2 ** -20;
      const r = await checkWeightDecode(storage, async () => wrong);
      expect(r.pass).toBe(false);
      expect(r.mismatches).toBe(1);
      expect(describeWeightDecodeCheck(r)).toMatch(/wrong in 1 of/);
      const right = await checkWeightDecode(storage, async () => Float32Array.from(want));
      expect(right.pass).toBe(true);
    }
  });

  it('fails when the graph cannot run', async () => {
    const r = await checkWeightDecode('int8-per-channel', async () => {
      throw new Error('no kernel');
    });
    expect(r.pass).toBe(false);
    expect(describeWeightDecodeCheck(r)).toMatch(/failed to run \(no kernel\)/);
  });
});

describe.each(['wasm', 'webgpu'] as const)('on %s', (backend) => {
  it('onnxruntime decodes both storages exactly', async () => {
    if (backend === 'webgpu') installNodeWebGPU();
    const rt = await OrtRuntime.create({ backend });
    try {
      for (const storage of STORAGES) {
        const r = await rt.verifyWeightDecode(storage);
        expect(r.error).toBeNull();
        expect(r.mismatches, describeWeightDecodeCheck(r)).toBe(0);
        expect(r.pass).toBe(true);
      }
    } finally {
      await rt.dispose();
    }
  }, 120_000);
});

it('a WebGPU runtime created for int8 weights tests them first and says so on the model line', async () => {
  installNodeWebGPU();
  const rt = await OrtRuntime.create({ backend: 'webgpu', verifyWeights: 'int8-per-channel' });
  try {
    expect(rt.backend).toBe('webgpu');
    expect(rt.weightCheck?.pass).toBe(true);
    expect(rt.summary).toMatch(/int8 weight dequantisation exact \(18432 values/);
  } finally {
    await rt.dispose();
  }
}, 120_000);
