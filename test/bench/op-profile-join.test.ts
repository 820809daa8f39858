// bench/op-profile-join.mjs: ORT WebGPU kernel names → op classes, and the per-class table, on the
// kernel names of a real profile (tiny int8 UNet on SwiftShader) and a hand-made op_profile.py result.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyKernel, joinProfile, renderMarkdown, type OpClass, type OpProfile } from '../../bench/op-profile-join.mjs';

interface Fixture {
  profile: { dispatches: number; totalKernelMs: number; byKernel: { name: string; ms: number; calls: number }[] };
  sync: { unetMs: { median: number }; shapes: { unet: { sample: number[] } } };
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/op-profile-tiny-dispatches.json', import.meta.url), 'utf8')) as Fixture;

// Every kernel name of the fixture, with the class it belongs to (what each kernel computes in ORT).
const EXPECTED: Record<string, OpClass> = {
  Conv2dMM: 'conv',
  ComputeChannelScaleShift: 'norm', // InstanceNormalization's statistics pass
  LayerNorm: 'norm',
  MatMul: 'matmul',
  Gemm: 'matmul',
  Transpose: 'layout',
  FlashAttention: 'attention',
  DequantizeLinear: 'dequantize',
  Concat: 'layout',
  Add: 'elementwise',
  Mul: 'elementwise',
  InstanceNorm: 'norm',
  QuickGelu: 'elementwise', // ORT's fusion of x·sigmoid(x)
  Split: 'layout',
  ResizeNearest2D: 'layout',
  CopyKVCache: 'attention', // MultiHeadAttention's copy of K/V
  Div: 'elementwise',
  Erf: 'elementwise',
  Expand: 'layout',
  Cos: 'elementwise',
  Slice: 'layout',
  Sin: 'elementwise',
};

describe('classifyKernel', () => {
  it('knows every kernel name of the real tiny profile', () => {
    const names = fixture.profile.byKernel.map((k) => k.name);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      expect(name in EXPECTED, `fixture name ${name} has no expectation`).toBe(true);
      expect(classifyKernel(name), name).toEqual({ cls: EXPECTED[name], known: true });
    }
  });

  it('sorts the GPU paths not seen on SwiftShader (names from the ORT wasm build) by what they compute', () => {
    const more: Record<string, OpClass> = {
      Im2ColMatMul: 'conv', // a convolution, although its name says MatMul
      GroupedConv: 'conv',
      MatMulNBits: 'matmul',
      GemmSubgroup: 'matmul',
      SubgroupMatrixMatMul: 'matmul',
      AttentionProbs: 'attention',
      VxAttentionScore: 'attention',
      InPlaceSoftmax: 'attention',
      GroupNormStats: 'norm',
      InstanceNormNHWC: 'norm',
    };
    for (const [name, cls] of Object.entries(more)) expect(classifyKernel(name).cls, name).toBe(cls);
  });

  it('puts an unknown name in other and says it did not know it', () => {
    expect(classifyKernel('SomethingNew')).toEqual({ cls: 'other', known: false });
  });
});

describe('joinProfile / renderMarkdown', () => {
  const kernelMs = (name: string): number => fixture.profile.byKernel.find((k) => k.name === name)!.ms;
  const kernelCalls = (name: string): number => fixture.profile.byKernel.find((k) => k.name === name)!.calls;
  const ops: OpProfile = {
    meta: { peak_tflops: 50, peak_source: 'test peak' },
    classes: {
      conv: { count: 60, flops: 4e11, torch_ms: 100, torch_ms_unsplit: 90, untimed: 0 },
      attention: { count: 12, flops: 1e10, torch_ms: 5 },
      matmul: { count: 80, flops: 2e11, torch_ms: 40, ops: { MatMul: 66, 'Conv 1x1': 14 } },
      dequantize: { count: 181, flops: 3e6, torch_ms: 2 },
      norm: { count: 49, flops: 7e7, torch_ms: 3 },
      elementwise: { count: 200, flops: 1e7, torch_ms: 4, untimed: 2 },
      layout: { count: 50, flops: 0, torch_ms: 6 },
      other: { count: 0, flops: 0, torch_ms: 0 },
      free: { count: 150, flops: 0, torch_ms: 0 },
    },
    ort_webgpu: { conv_weight_transposes: 101, graph_transposes: 12 },
  };

  it('sums kernel time per class, computes FLOP/s, % of peak and the ratio to torch', () => {
    const j = joinProfile(fixture, ops);
    const row = (label: string) => j.rows.find((r) => r.label === label)!;
    expect(row('conv').ms).toBeCloseTo(kernelMs('Conv2dMM'), 9);
    expect(row('conv').dispatches).toBe(kernelCalls('Conv2dMM'));
    expect(row('attention').ms).toBeCloseTo(kernelMs('FlashAttention') + kernelMs('CopyKVCache'), 9);
    expect(row('matmul').ms).toBeCloseTo(kernelMs('MatMul') + kernelMs('Gemm'), 9);
    const convS = kernelMs('Conv2dMM') / 1e3;
    expect(row('conv').tflops).toBeCloseTo(4e11 / convS / 1e12, 9);
    expect(row('conv').pctPeak).toBeCloseTo((100 * (4e11 / convS / 1e12)) / 50, 9);
    expect(row('conv').ratio).toBeCloseTo(kernelMs('Conv2dMM') / 100, 9);
    expect(row('conv').torchMsUnsplit).toBe(90);
    // rest = norm + elementwise + layout + other, on both sides
    const norm = ['ComputeChannelScaleShift', 'LayerNorm', 'InstanceNorm'].reduce((a, n) => a + kernelMs(n), 0);
    expect(row('· norm').ms).toBeCloseTo(norm, 9);
    const restMs = ['· norm', '· elementwise', '· layout', '· other'].reduce((a, l) => a + row(l).ms!, 0);
    expect(row('rest').ms).toBeCloseTo(restMs, 9);
    expect(row('rest').torchMs).toBe(3 + 4 + 6 + 0);
    expect(row('rest').untimed).toBe(2);
    // the total is the profile's total; free nodes stay out of the rows
    expect(row('total').ms).toBeCloseTo(fixture.profile.totalKernelMs, 6);
    expect(row('total').nodes).toBe(60 + 12 + 80 + 181 + 49 + 200 + 50);
    expect(j.unknownKernels).toEqual([]);
    expect(j.unetCallMs).toBe(fixture.sync.unetMs.median);
  });

  it('counts kernel time the profile did not list (pano-webgpu keeps the top 30) and unknown names in other', () => {
    const listed = fixture.profile.byKernel.slice(0, 5);
    const listedMs = listed.reduce((a, k) => a + k.ms, 0);
    const profile = { dispatches: 1000, totalKernelMs: listedMs + 7, byKernel: [...listed, { name: 'Mystery', ms: 3, calls: 4 }] };
    const j = joinProfile(profile, null);
    const other = j.rows.find((r) => r.label === '· other')!;
    // listed + Mystery (3 ms) is 3 ms over the listed five: the remainder is 7 − 3 = 4 ms
    expect(j.unlisted!.ms).toBeCloseTo(4, 9);
    expect(other.ms).toBeCloseTo(3 + 4, 9);
    expect(j.unknownKernels).toEqual(['Mystery']);
    expect(j.rows.find((r) => r.label === 'conv')!.torchMs).toBeNull();
    expect(renderMarkdown(j)).toContain('Kernel names no rule knows (counted in other): Mystery.');
  });

  it('warns when the profiled UNet call is not the shape op_profile.py counted', () => {
    // the fixture profiled a batch-2 call on an 8×16 latent (pano-webgpu's default batched guidance)
    const same = { ...ops, meta: { ...ops.meta, dims: { batch: 2, latent_height: 8, latent_width: 16 } } };
    expect(joinProfile(fixture, same).mismatch).toBeNull();
    const other = { ...ops, meta: { ...ops.meta, dims: { batch: 1, latent_height: 8, latent_width: 16 } } };
    const j = joinProfile(fixture, other);
    expect(j.mismatch).toContain('sample [2,4,8,16]');
    expect(renderMarkdown(j).startsWith('**Warning: the profiled UNet call had sample [2,4,8,16]')).toBe(true);
  });

  it('renders one table row per class with the figures and the notes', () => {
    const j = joinProfile(fixture, ops, { peakTflops: 67, peakSource: 'NVIDIA H100 datasheet' });
    const md = renderMarkdown(j);
    const conv = j.rows.find((r) => r.label === 'conv')!;
    expect(md).toContain(
      `| conv | ${conv.ms!.toFixed(1)} | ${conv.dispatches} / 60 | 400.0 | ${conv.tflops!.toFixed(2)} | ${conv.pctPeak!.toFixed(1)} | 100.0 | ${conv.ratio!.toFixed(1)}× |`,
    );
    expect(conv.pctPeak).toBeCloseTo((100 * conv.tflops!) / 67, 9); // the option overrides the JSON's peak
    expect(md).toContain('fp32 peak: 67 TFLOP/s (NVIDIA H100 datasheet)');
    expect(md).toContain('| **rest** |');
    expect(md).toContain(`Transpose: ${kernelCalls('Transpose')} dispatches; the graph has 12 Transpose nodes and 101 Convs`);
    expect(md).toContain('matmul: MatMul 66, Conv 1x1 14');
    expect(md).toContain('conv 90.0 ms (split: 100.0)');
  });
});
