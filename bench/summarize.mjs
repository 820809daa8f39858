#!/usr/bin/env node
// Joins the device run's JSON files (torch.json, webgpu-*.json in DIR) into DIR/result.json and
// prints a markdown table: our time / PyTorch time per component. Plain Node, no dependencies.
//   node bench/summarize.mjs DIR > summary.md
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/summarize.mjs DIR');
  process.exit(2);
}
const read = (f) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : null);
const torch = read('torch.json');
const webgpu = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => /^webgpu-.*\.json$/.test(f))
    .map((f) => [f.slice(7, -5), read(f)]),
);
const base = webgpu.baseline ?? webgpu['baseline-standin'] ?? null;
const experiments = Object.entries(webgpu).filter(([k]) => k.startsWith('experiment'));
writeFileSync(join(dir, 'result.json'), JSON.stringify({ torch, webgpu }, null, 2) + '\n');

const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d));
const ms = (x) => (x === null || x === undefined ? '–' : x >= 10000 ? `${(x / 1000).toFixed(1)} s` : `${f(x, x < 10 ? 2 : 1)} ms`);
const ratio = (a, b) => (a == null || b == null || !b ? '–' : `${(a / b).toFixed(1)}×`);
const t32 = torch?.results?.fp32 ?? null;
const t16 = torch?.results?.fp16 ?? null;
const med = (s) => (s && typeof s === 'object' ? s.median ?? s.median_ms ?? null : s ?? null);

const rows = [];
const row = (what, ours, p32, p16, note = '') => rows.push(`| ${what} | ${ms(ours)} | ${ms(p32)} | ${ms(p16)} | ${ratio(ours, p32)} | ${note} |`);
if (base) {
  const steps = base.options.steps;
  row('text encoder (batch 2, one call)', med(base.sync.textEncoderMs), med(t32?.text_encoder_ms), med(t16?.text_encoder_ms));
  row('UNet, one step (batch 2, 64×128 latent)', med(base.sync.unetMs), med(t32?.unet_ms), med(t16?.unet_ms),
    t32?.unet_strict_fp32_ms ? `PyTorch fp32 without TF32: ${ms(med(t32.unet_strict_fp32_ms))} (ours ${ratio(med(base.sync.unetMs), med(t32.unet_strict_fp32_ms))})` : '');
  row('time between UNet calls', med(base.sync.betweenUnetMs), t32?.pipeline?.between_unet_gpu_ms_median, t16?.pipeline?.between_unet_gpu_ms_median,
    `ours ${f((base.sync.betweenUnetShareOfStep ?? NaN) * 100, 2)} % of a step`);
  row('VAE decode (512×1024)', med(base.sync.vaeDecodeMs), med(t32?.vae_decode_ms), med(t16?.vae_decode_ms));
  row(`whole generation, ${steps} steps (warm)`, med(base.warm.totalMs), t32?.pipeline?.total_ms_median, t16?.pipeline?.total_ms_median);
  row('step as the user sees it (warm)', med(base.warm.stepMs), null, null);
  const creates = base.load.sessions.map((s) => `${s.name} ${ms(s.ms)}`).join(', ');
  row('loading (session creation)', base.load.totalMs, null, null, creates);
  row('first generation after loading (cold)', base.cold.totalMs, t32?.pipeline_first_ms, t16?.pipeline_first_ms,
    `first runs: ${Object.entries(base.cold.firstRunMs).map(([k, v]) => `${k} ${ms(v)}`).join(', ')}`);
  row('start-up = loading + first generation', base.cold.startupMs, null, null, 'target < 20 s');
}
const gib = (b) => (b == null ? '–' : `${(b / 2 ** 30).toFixed(2)} GiB`);
const mib = (m) => (m == null ? '–' : `${(m / 1024).toFixed(2)} GiB`);

const out = [];
out.push(`GPU: ${torch?.gpu ?? base?.memory?.gpu?.gpu ?? '?'} · date ${base?.date ?? torch?.date ?? '?'} · weights: random-full (architecture only, random weights)`);
out.push(`Ours: ${base?.what ?? '–'}${base?.pipelineKind === 'stand-in' ? ' — STAND-IN loop (bench/lib/pipeline-under-test.ts)' : ''}; adapter ${base?.adapter ?? '?'}; ORT ${base?.ort?.web ?? '?'}`);
out.push(`PyTorch: ${torch ? `torch ${torch.torch}, diffusers ${torch.diffusers}, ${t32?.attention_processor ?? ''}` : 'missing'}`);
out.push('');
out.push('| component | ours (WebGPU fp32) | PyTorch fp32 | PyTorch fp16 | ours / PyTorch fp32 | notes |');
out.push('|---|---|---|---|---|---|');
out.push(...rows);
out.push('');
out.push('| memory | ours | PyTorch fp32 | PyTorch fp16 |');
out.push('|---|---|---|---|');
out.push(`| peak GPU memory | ${mib(base?.memory?.gpu?.peakAboveBaselineMiB)} (nvidia-smi, above idle) | ${gib(t32?.peak_allocated_bytes)} allocated / ${gib(t32?.peak_reserved_bytes)} reserved | ${gib(t16?.peak_allocated_bytes)} / ${gib(t16?.peak_reserved_bytes)} |`);
if (base?.memory?.gpuPeakMarks) out.push(`| GPU memory peak so far, by stage (cold run) | ${base.memory.gpuPeakMarks.map((m) => `${m.label.replace(/^generation 1 \(cold\): /, '')} ${mib(m.peakMiB)}`).join('; ')} | – | – |`);
out.push(`| wasm heap at the end (= peak) | ${gib(base?.memory?.wasmHeapBytes?.[0])} | – | – |`);
out.push(`| process RSS at the end | ${gib(base?.memory?.process?.rss)} | – | – |`);
if (base?.profile?.byKernel) {
  out.push('');
  out.push(`Profile of one UNet call: ${base.profile.dispatches} dispatches, ${ms(base.profile.totalKernelMs)} summed kernel time`);
  out.push('');
  out.push('| kernel (ORT program) | ms | dispatches | share |');
  out.push('|---|---|---|---|');
  for (const k of base.profile.byKernel.slice(0, 15)) out.push(`| ${k.name} | ${f(k.ms)} | ${k.calls} | ${f(k.share * 100)} % |`);
} else if (base?.profile) out.push(`\nProfile unavailable: ${JSON.stringify(base.profile)}`);
for (const [name, exp] of base ? experiments : []) {
  out.push('');
  out.push(`${name}: weights ${exp.modelDtype ?? 'float32'}, UNet session options ${JSON.stringify(exp.options.unetOptions)}, EP options ${JSON.stringify(exp.options.epOptions ?? null)}, TurboFan ${exp.options.turbofan ? 'on' : 'off (Liftoff only)'}`);
  out.push('');
  out.push('| figure | baseline | experiment |');
  out.push('|---|---|---|');
  out.push(`| loading (all sessions) | ${ms(base.load.totalMs)} | ${ms(exp.load.totalMs)} |`);
  out.push(`| first generation (cold) | ${ms(base.cold.totalMs)} | ${ms(exp.cold.totalMs)} |`);
  out.push(`| UNet session creation | ${ms(base.load.sessions.find((s) => s.name === 'unet')?.ms)} | ${ms(exp.load.sessions.find((s) => s.name === 'unet')?.ms)} |`);
  out.push(`| UNet first run | ${ms(base.cold.firstRunMs.unet)} | ${ms(exp.cold.firstRunMs.unet)} |`);
  out.push(`| UNet step (sync, median) | ${ms(med(base.sync.unetMs))} | ${ms(med(exp.sync.unetMs))} |`);
  out.push(`| UNet call, CPU side (sync, median) | ${ms(med(base.sync.unetCpuSideMs))} | ${ms(med(exp.sync.unetCpuSideMs))} |`);
  out.push(`| between UNet calls | ${ms(med(base.sync.betweenUnetMs))} | ${ms(med(exp.sync.betweenUnetMs))} |`);
  out.push(`| warm generation | ${ms(med(base.warm.totalMs))} | ${ms(med(exp.warm.totalMs))} |`);
  out.push(`| peak GPU memory | ${mib(base.memory.gpu.peakAboveBaselineMiB)} | ${mib(exp.memory.gpu.peakAboveBaselineMiB)} |`);
  const marks = (r) => (r.memory.gpuPeakMarks ?? []).map((m) => `${m.label.replace(/^generation 1 \(cold\): /, '')} ${mib(m.peakMiB)}`).join('; ');
  out.push(`| GPU memory peak so far, by stage (cold run) | ${marks(base)} | ${marks(exp)} |`);
  out.push(`| wasm heap | ${gib(base.memory.wasmHeapBytes?.[0])} | ${gib(exp.memory.wasmHeapBytes?.[0])} |`);
}
console.log(out.join('\n'));
