#!/usr/bin/env node
/**
 * Per-op-class table of one UNet call (issue 11 §2): our GPU time per class (bench/pano-webgpu.ts
 * --profile: milliseconds per ORT WebGPU kernel) joined with the FLOPs and the PyTorch strict-fp32 time
 * of the same op shapes (bench/op_profile.py). Plain Node, no dependencies.
 *
 *   node bench/op-profile-join.mjs --profile webgpu-headset.json --ops op-shapes.json
 *        [--peak-tflops 67] [--peak-source TEXT] [--md FILE.md] [--out-json FILE.json]
 *
 * Prints the markdown table: class | our GPU ms | dispatches / graph nodes | GFLOP | our TFLOP/s |
 * % of fp32 peak | torch strict ms | ours / torch. Either input may be missing (its columns read '–').
 *
 * Kernel name → class (KERNEL_RULES, first match wins; names are ORT WebGPU program names, which label
 * the compute pipelines):
 *   attention   /attention|flash|kvcache|qkv|bnsh|bsnh|softmax/i: FlashAttention, CopyKVCache (the
 *               fused MultiHeadAttention's own copy of K and V), AttentionProbs, VxAttentionScore,
 *               InPlaceSoftmax (the unfused path without subgroups), SplitPackedQKV...
 *   conv        /conv|im2col/i: Conv2dMM, GroupedConv, Im2ColMatMul, ConvTranspose2D...
 *   matmul      /matmul|gemm/i: MatMul, MatMulNBits, Gemm, GemmSubgroup, SubgroupMatrixMatMul...
 *   dequantize  /dequantize|quantizelinear/i: DequantizeLinear
 *   norm        /norm|channelscaleshift|meanvariance/i: InstanceNorm (+ its ComputeChannelScaleShift
 *               statistics pass), InstanceNormNHWC, LayerNorm, GroupNormStats/Apply, SkipLayerNorm
 *   elementwise the ONNX elementwise op names (Add, Mul, Sigmoid, Erf, Sin, Cast, Where...) and the
 *               fused activations (QuickGelu: ORT fuses x·sigmoid(x), the UNet's SiLU, into it)
 *   layout      Transpose, Concat, Split, Slice, Expand, Gather, Pad, Tile, Resize*, Scatter*, ...
 *   other       anything else, listed by name under the table.
 * The graph side follows what ORT runs: op_profile.py counts a 1×1 stride-1 unpadded Conv in matmul,
 * because ORT's WebGPU Conv runs it with its MatMul kernels (webgpu/nn/conv.cc).
 * Known blur: ORT's own Transposes (every Conv weight that is not a constant initializer, i.e. each
 * dequantized one, on every call; activations for its NHWC layout; any BSNH→BNSH inside attention)
 * are named "Transpose" and land in layout next to the graph's Transpose nodes; a note under the
 * table gives the dispatch count, the graph's Transposes and the Convs with computed weights.
 * ORT's fusions move small elementwise work into conv/matmul kernels (bias adds, activations); the
 * FLOPs stay with the ONNX nodes.
 * "rest" = norm + elementwise + layout + other. pano-webgpu keeps the 30 costliest kernel names; the
 * time of the others (total − listed) is counted in other as "(not listed)".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const MAIN_CLASSES = ['conv', 'attention', 'matmul', 'dequantize'];
export const REST_CLASSES = ['norm', 'elementwise', 'layout', 'other'];
export const CLASSES = [...MAIN_CLASSES, ...REST_CLASSES];

const ELEMENTWISE = new Set(
  [
    'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or',
    'Xor', 'Not', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Cast', 'Clip', 'Abs', 'Neg', 'Sign', 'Floor', 'Ceil', 'Round',
    'Reciprocal', 'Sqrt', 'Exp', 'Log', 'Erf', 'Sigmoid', 'HardSigmoid', 'Tanh', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos',
    'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Relu', 'LeakyRelu', 'ThresholdedRelu', 'Elu', 'Softplus',
    'Softsign', 'Gelu', 'FastGelu', 'QuickGelu', 'BiasGelu', 'BiasSplitGelu', 'BiasAdd', 'HardSwish', 'IsNaN', 'IsInf',
  ].map((s) => s.toLowerCase()),
);

/** Ordered: the first matching rule decides (Im2ColMatMul is conv, DP4AMatMulQuantize matmul). */
export const KERNEL_RULES = [
  ['attention', /attention|flash|kvcache|qkv|bnsh|bsnh|softmax/i],
  ['conv', /conv|im2col/i],
  ['matmul', /matmul|gemm/i],
  ['dequantize', /dequantize|quantizelinear/i],
  ['norm', /norm|channelscaleshift|meanvariance/i],
  ['elementwise', { test: (name) => ELEMENTWISE.has(name.toLowerCase()) || /gelu|relu|sigmoid|swish/i.test(name) }],
  ['layout', /^(transpose|concat|split|slice|expand|gather|pad|tile|resize|upsample|scatter|depthtospace|spacetodepth|copy|reshape|identity|fill)/i],
];

/** The class of an ORT WebGPU kernel (pipeline label), and whether a rule knew it. */
export function classifyKernel(name) {
  for (const [cls, rule] of KERNEL_RULES) if (rule.test(name)) return { cls, known: true };
  return { cls: 'other', known: false };
}

const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/**
 * Joins a dispatch profile (bench/lib/dispatch-profiler.ts DispatchProfile, or pano-webgpu's whole
 * result with it under `profile`) with op_profile.py's JSON. Either may be null.
 */
export function joinProfile(profileOrResult, ops, options = {}) {
  const profile = profileOrResult && 'byKernel' in profileOrResult ? profileOrResult : (profileOrResult?.profile ?? null);
  const havePro = !!(profile && Array.isArray(profile.byKernel));
  const peakTflops = num(options.peakTflops) ?? num(ops?.meta?.peak_tflops);
  const peakSource = options.peakSource ?? ops?.meta?.peak_source ?? null;
  const per = Object.fromEntries(CLASSES.map((c) => [c, { ms: havePro ? 0 : null, calls: havePro ? 0 : null, kernels: [] }]));
  const unknownKernels = [];
  let unlisted = null;
  if (havePro) {
    let listedMs = 0;
    let listedCalls = 0;
    for (const k of profile.byKernel) {
      const { cls, known } = classifyKernel(k.name);
      per[cls].ms += k.ms;
      per[cls].calls += k.calls;
      per[cls].kernels.push({ name: k.name, ms: k.ms, calls: k.calls });
      if (!known) unknownKernels.push(k.name);
      listedMs += k.ms;
      listedCalls += k.calls;
    }
    const restMs = (num(profile.totalKernelMs) ?? listedMs) - listedMs;
    const restCalls = (num(profile.dispatches) ?? listedCalls) - listedCalls;
    if (restMs > 1e-9 || restCalls > 0) {
      unlisted = { ms: restMs, calls: restCalls };
      per.other.ms += restMs;
      per.other.calls += restCalls;
      per.other.kernels.push({ name: '(not listed)', ms: restMs, calls: restCalls });
    }
  }
  const graph = ops?.classes ?? null;
  // The profiled call must be the shape op_profile.py counted (pano-webgpu records the UNet's input shapes).
  const sample = profileOrResult?.sync?.shapes?.unet?.sample ?? null;
  const dims = ops?.meta?.dims ?? null;
  let mismatch = null;
  if (Array.isArray(sample) && sample.length === 4 && dims) {
    const want = [dims.batch, null, dims.latent_height, dims.latent_width];
    if (want.some((w, i) => w !== null && w !== undefined && w !== sample[i])) {
      mismatch = `the profiled UNet call had sample ${JSON.stringify(sample)}, op_profile.py counted batch ${dims.batch}, latent ${dims.latent_height}×${dims.latent_width}: FLOP/s and ratios compare different work`;
    }
  }
  const row = (label, classes) => {
    const sum = (f) => {
      const xs = classes.map(f);
      return xs.some((x) => x === null || x === undefined) ? null : xs.reduce((a, b) => a + b, 0);
    };
    const ms = sum((c) => per[c].ms);
    const flops = graph ? sum((c) => num(graph[c]?.flops) ?? 0) : null;
    const tflops = ms && flops !== null ? flops / (ms / 1e3) / 1e12 : null;
    const torchMs = graph ? sum((c) => num(graph[c]?.torch_ms)) : null;
    const torchUnsplit = graph ? sum((c) => num(graph[c]?.torch_ms_unsplit) ?? num(graph[c]?.torch_ms)) : null;
    return {
      label,
      classes,
      ms,
      dispatches: sum((c) => per[c].calls),
      nodes: graph ? sum((c) => num(graph[c]?.count) ?? 0) : null,
      flops,
      bytes: graph ? sum((c) => num(graph[c]?.bytes) ?? 0) : null,
      tflops,
      pctPeak: tflops !== null && peakTflops ? (100 * tflops) / peakTflops : null,
      torchMs,
      torchMsUnsplit: torchUnsplit,
      untimed: graph ? sum((c) => num(graph[c]?.untimed) ?? 0) : null,
      ratio: ms !== null && torchMs ? ms / torchMs : null,
    };
  };
  const rows = [
    ...MAIN_CLASSES.map((c) => row(c, [c])),
    row('rest', REST_CLASSES),
    ...REST_CLASSES.map((c) => row(`· ${c}`, [c])),
    row('total', CLASSES),
  ];
  return {
    peakTflops,
    peakSource,
    mismatch,
    rows,
    kernels: Object.fromEntries(CLASSES.map((c) => [c, per[c].kernels])),
    unknownKernels,
    unlisted,
    totalKernelMs: havePro ? (num(profile.totalKernelMs) ?? null) : null,
    freeNodes: graph ? (num(graph.free?.count) ?? 0) : null,
    graphOps: graph ? Object.fromEntries(CLASSES.map((c) => [c, graph[c]?.ops ?? {}])) : null,
    transposes: {
      dispatches: per.layout.kernels.filter((k) => /^transpose/i.test(k.name)).reduce((a, k) => a + k.calls, 0),
      graph: num(ops?.ort_webgpu?.graph_transposes),
      convWeights: num(ops?.ort_webgpu?.conv_weight_transposes),
      convWeightBytes: num(ops?.ort_webgpu?.conv_weight_transpose_bytes),
    },
    unetCallMs: num(profileOrResult?.sync?.unetMs?.median) ?? null,
    gpu: ops?.meta?.gpu ?? null,
    adapter: profileOrResult?.adapter ?? null,
    dims: ops?.meta?.dims ?? null,
    shapeInference: ops?.shape_inference ? { methods: ops.shape_inference.methods, unshaped: ops.shape_inference.unshaped } : null,
  };
}

const fx = (x, d) => (x === null || x === undefined ? '–' : x.toFixed(d));
const fms = (x) => (x === null || x === undefined ? '–' : x.toFixed(x < 10 ? 2 : 1));

/** The markdown table and the notes under it. */
export function renderMarkdown(j) {
  const lines = [
    `| class | our GPU ms | dispatches / graph nodes | GFLOP | our TFLOP/s | % of fp32 peak | torch strict ms | ours / torch |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const r of j.rows) {
    const label = r.label === 'total' || r.label === 'rest' ? `**${r.label}**` : r.label;
    lines.push(
      `| ${label} | ${fms(r.ms)} | ${r.dispatches ?? '–'} / ${r.nodes ?? '–'} | ${r.flops === null ? '–' : fx(r.flops / 1e9, 1)} | ` +
        `${fx(r.tflops, 2)} | ${fx(r.pctPeak, 1)} | ${fms(r.torchMs)}${r.untimed ? ` (${r.untimed} untimed)` : ''} | ${r.ratio === null ? '–' : `${r.ratio.toFixed(1)}×`} |`,
    );
  }
  const notes = [];
  notes.push(
    `fp32 peak: ${j.peakTflops ?? '–'} TFLOP/s${j.peakSource ? ` (${j.peakSource})` : ''}. FLOPs: bench/op_profile.py on the ONNX graph ` +
      `(multiply-add = 2; rest classes nominal: norms 7/element, elementwise 1/element, data movement 0).`,
  );
  notes.push(
    'Our GPU ms: one UNet call, every dispatch in a compute pass of its own (bench/lib/dispatch-profiler.ts: an upper bound; ' +
      'Dawn quantises timestamps, 65.536 µs on NVIDIA). Torch strict ms: the same op shapes one by one in PyTorch fp32 with TF32 off, ' +
      'GPU time of back-to-back launches, times the node count (no fusion across ops).',
  );
  if (j.unetCallMs !== null) notes.push(`The UNet call unprofiled (sync mode, median): ${fms(j.unetCallMs)} ms; sum of profiled kernels ${fms(j.totalKernelMs)} ms.`);
  const split = j.rows.filter((r) => ['conv', 'matmul'].includes(r.label) && r.torchMsUnsplit !== null && r.torchMs !== null && r.torchMsUnsplit !== r.torchMs);
  if (split.length) notes.push(`Torch with the split Conv/MatMul unsplit (one node per weight): ${split.map((r) => `${r.label} ${fms(r.torchMsUnsplit)} ms (split: ${fms(r.torchMs)})`).join(', ')}.`);
  const t = j.transposes;
  if (t && (t.dispatches || t.convWeights)) {
    notes.push(
      `Transpose: ${t.dispatches} dispatches; the graph has ${t.graph ?? '–'} Transpose nodes and ${t.convWeights ?? '–'} Convs whose weight is computed ` +
        `(dequantized${t.convWeightBytes ? `, ${(t.convWeightBytes / 2 ** 20).toFixed(0)} MiB of float32` : ''}), each of which ORT transposes on every call (webgpu/nn/conv.cc).`,
    );
  }
  if (j.graphOps) {
    const ops = CLASSES.map((c) => [c, Object.entries(j.graphOps[c]).sort((a, b) => b[1] - a[1])])
      .filter(([, e]) => e.length)
      .map(([c, e]) => `${c}: ${e.map(([op, n]) => `${op} ${n}`).join(', ')}`);
    notes.push(`Graph nodes by class (1×1 Convs run as MatMul in ORT, so they count in matmul) — ${ops.join('; ')}.`);
  }
  if (j.freeNodes) notes.push(`${j.freeNodes} graph nodes run no GPU kernel (Reshape, Shape, shape arithmetic on the CPU) and are not in the table.`);
  const kl = (c) =>
    j.kernels[c].length ? `${c}: ${j.kernels[c].map((k) => `${k.name} ${fms(k.ms)} ms ×${k.calls}`).join(', ')}` : null;
  const byClass = CLASSES.map(kl).filter((x) => x);
  if (byClass.length) notes.push(`Kernels by class — ${byClass.join('; ')}.`);
  if (j.unknownKernels.length) notes.push(`Kernel names no rule knows (counted in other): ${j.unknownKernels.join(', ')}.`);
  if (j.shapeInference && j.shapeInference.unshaped) notes.push(`${j.shapeInference.unshaped} graph nodes had unknown shapes (0 FLOPs, untimed): see the JSON.`);
  const where = [j.gpu && `torch on ${j.gpu}`, j.adapter && `WebGPU adapter ${j.adapter}`, j.dims && `dims ${JSON.stringify(j.dims)}`].filter((x) => x);
  if (where.length) notes.push(where.join('; ') + '.');
  const warn = j.mismatch ? `**Warning: ${j.mismatch}.**\n\n` : '';
  return `${warn}${lines.join('\n')}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
}

function main() {
  const { values: a } = parseArgs({
    options: {
      profile: { type: 'string' },
      ops: { type: 'string' },
      'peak-tflops': { type: 'string' },
      'peak-source': { type: 'string' },
      md: { type: 'string' },
      'out-json': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (a.help || (!a.profile && !a.ops)) {
    console.error('usage: node bench/op-profile-join.mjs --profile WEBGPU.json --ops OP-SHAPES.json [--peak-tflops N] [--peak-source TEXT] [--md FILE] [--out-json FILE]');
    process.exit(a.help ? 0 : 2);
  }
  const read = (f) => (f ? JSON.parse(readFileSync(f, 'utf8')) : null);
  const profile = read(a.profile);
  const ops = read(a.ops);
  if (profile && !('byKernel' in profile) && !(profile.profile && 'byKernel' in profile.profile)) {
    console.error(`${a.profile}: no dispatch profile in it (was pano-webgpu run with --profile? ${JSON.stringify(profile.profile ?? null)})`);
  }
  const peak = a['peak-tflops'] === undefined ? undefined : Number(a['peak-tflops']);
  const joined = joinProfile(profile, ops, { peakTflops: peak, peakSource: a['peak-source'] });
  const md = renderMarkdown(joined);
  if (a.md) writeFileSync(a.md, md);
  if (a['out-json']) writeFileSync(a['out-json'], JSON.stringify({ ...joined, ops }, null, 1) + '\n');
  process.stdout.write(md);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
