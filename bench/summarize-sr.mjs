#!/usr/bin/env node
// Joins the LDM3D-SR device run's JSON files (torch-sr.json, webgpu-sr-*.json, export-sr*.json in DIR)
// into DIR/result.json and prints a markdown summary: our time / PyTorch time per component.
// Plain Node, no dependencies; any file may be missing or a failure record (the run publishes
// after every stage, so a timeout still returns what was measured).
//   node bench/summarize-sr.mjs DIR > summary.md
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/summarize-sr.mjs DIR');
  process.exit(2);
}
const read = (f) => {
  if (!existsSync(join(dir, f))) return null;
  try {
    return JSON.parse(readFileSync(join(dir, f), 'utf8'));
  } catch (e) {
    return { unreadable: String(e).slice(0, 300) };
  }
};
const torch = read('torch-sr.json');
const webgpu = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => /^webgpu-sr-.*\.json$/.test(f))
    .sort()
    .map((f) => [f.slice('webgpu-sr-'.length, -'.json'.length), read(f)]),
);
const exports = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => /^export-sr.*-report\.json$/.test(f))
    .map((f) => [f.slice(0, -'-report.json'.length), read(f)]),
);
const notes = existsSync(join(dir, 'notes.txt')) ? readFileSync(join(dir, 'notes.txt'), 'utf8').trim().split('\n') : [];
const ok = (r) => r && !r.failed && !r.unreadable && r.sync;
const base = ok(webgpu.baseline) ? webgpu.baseline : null;
const experiments = Object.entries(webgpu).filter(([k]) => k.startsWith('experiment'));
writeFileSync(join(dir, 'result.json'), JSON.stringify({ torch, webgpu, exports, notes }, null, 2) + '\n');

const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d));
const ms = (x) => (x === null || x === undefined ? '–' : x >= 10000 ? `${(x / 1000).toFixed(1)} s` : `${f(x, x < 10 ? 2 : 1)} ms`);
const ratio = (a, b) => (a == null || b == null || !b ? '–' : `${(a / b).toFixed(1)}×`);
const med = (s) => (s && typeof s === 'object' ? s.median ?? s.median_ms ?? null : s ?? null);
const gib = (b) => (b == null ? '–' : `${(b / 2 ** 30).toFixed(2)} GiB`);
const mib = (m) => (m == null || m < 0 ? '–' : `${(m / 1024).toFixed(2)} GiB`);
const t32 = torch?.results?.fp32 ?? null;
const t16 = torch?.results?.fp16 ?? null;

const out = [];
const size = base?.image ? `${base.image.lowRes}×${base.image.lowRes} → ${base.image.width}×${base.image.height}` : '?';
out.push(`## LDM3D-SR: ours (WebGPU) vs PyTorch diffusers`);
out.push('');
out.push(`GPU: ${torch?.gpu ?? base?.memory?.gpu?.gpu ?? base?.adapter ?? '?'} · date ${base?.date ?? torch?.date ?? '?'} · weights: ${base?.weights ?? 'random-full (architecture only, random weights)'}`);
out.push(`Work: ${size}, ${base?.options?.steps ?? torch?.steps ?? '?'} steps, guidance ${base?.options?.guidance ?? torch?.guidance_scale ?? '?'} (UNet batch 2), noise level ${base?.options?.noiseLevel ?? torch?.noise_level ?? '?'}, DDIM`);
out.push(`Ours: ${base?.what ?? '–'}; attention ${base?.attention ?? '?'}; adapter ${base?.adapter ?? '?'}; ORT ${base?.ort?.web ?? '?'}; backend ${base?.backend ?? '?'}`);
out.push(`PyTorch: ${torch?.torch ? `torch ${torch.torch}, diffusers ${torch.diffusers}, ${t32?.attention_processor ?? ''}` : 'missing'}`);
for (const [k, v] of Object.entries(torch?.errors ?? {})) out.push(`PyTorch ${k} FAILED: ${String(v).split('\n')[0]}`);
for (const [k, r] of Object.entries(webgpu)) if (r && (r.failed || r.unreadable)) out.push(`ours ${k} FAILED during ${r.stage ?? '?'}: ${String(r.error ?? r.unreadable).split('\n')[0]}`);
for (const n of notes) out.push(`note: ${n}`);
out.push('');
out.push('| component | ours (WebGPU fp32) | PyTorch fp32 | PyTorch fp16 | ours / PyTorch fp32 | notes |');
out.push('|---|---|---|---|---|---|');
const row = (what, ours, p32, p16, note = '') => out.push(`| ${what} | ${ms(ours)} | ${ms(p32)} | ${ms(p16)} | ${ratio(ours, p32)} | ${note} |`);
if (base) {
  const s = base.sync;
  const lat = base.image ? `${base.image.height / 8}×${base.image.width / 8}` : '?';
  row('text encoder (batch 2, one call)', med(s.textEncoderMs), med(t32?.text_encoder_ms), med(t16?.text_encoder_ms));
  row(`VAE encode (low-res RGBD at ${base.image?.width ?? '?'}²)`, med(s.vaeEncodeMs), med(t32?.vae_encode_ms), med(t16?.vae_encode_ms));
  row(`UNet, one step (batch 2, 8×${lat} latent, median)`, med(s.unetMs), med(t32?.unet_ms), med(t16?.unet_ms),
    t32?.unet_strict_fp32_ms ? `PyTorch fp32 without TF32: ${ms(med(t32.unet_strict_fp32_ms))} (ours ${ratio(med(s.unetMs), med(t32.unet_strict_fp32_ms))}); in-pipeline GPU time fp32 ${ms(t32?.pipeline?.unet_gpu_ms_median)}` : '');
  row('time between UNet calls', med(s.betweenUnetMs), t32?.pipeline?.between_unet_gpu_ms_median, t16?.pipeline?.between_unet_gpu_ms_median,
    `ours ${f((s.betweenUnetShareOfStep ?? NaN) * 100, 2)} % of a step (latents loop on the CPU)`);
  row(`VAE decode (${base.image?.width ?? '?'}²)`, med(s.vaeDecodeMs), med(t32?.vae_decode_ms), med(t16?.vae_decode_ms),
    t16 ? 'PyTorch fp16 pipeline decodes in fp32 (force_upcast)' : '');
  row(`whole upscale, ${base.options.steps} steps (warm)`, med(base.warm.totalMs), t32?.pipeline?.total_ms_median, t16?.pipeline?.total_ms_median);
  row('step as the user sees it (warm)', med(base.warm.stepMs), null, null);
  row('loading (session creation + reading)', base.load.totalMs, null, null, base.load.sessions.map((x) => `${x.name} ${ms(x.ms)}`).join(', '));
  row('first upscale after loading (cold)', base.cold.totalMs, t32?.pipeline_first_ms, t16?.pipeline_first_ms,
    `first runs: ${Object.entries(base.cold.firstRunMs).map(([k, v]) => `${k} ${ms(v)}`).join(', ')}`);
  row('start-up = loading + first upscale', base.cold.startupMs, null, null);
} else if (t32 || t16) {
  row('text encoder (batch 2)', null, med(t32?.text_encoder_ms), med(t16?.text_encoder_ms), 'ours: no result');
  row('VAE encode', null, med(t32?.vae_encode_ms), med(t16?.vae_encode_ms));
  row('UNet, one step', null, med(t32?.unet_ms), med(t16?.unet_ms), t32?.unet_strict_fp32_ms ? `fp32 without TF32 ${ms(med(t32.unet_strict_fp32_ms))}` : '');
  row('VAE decode', null, med(t32?.vae_decode_ms), med(t16?.vae_decode_ms));
  row('whole upscale (warm)', null, t32?.pipeline?.total_ms_median, t16?.pipeline?.total_ms_median);
}
out.push('');
out.push('| memory | ours | PyTorch fp32 | PyTorch fp16 |');
out.push('|---|---|---|---|');
out.push(`| peak GPU memory | ${mib(base?.memory?.gpu?.peakAboveBaselineMiB)} (nvidia-smi, above idle) | ${gib(t32?.peak_allocated_bytes)} allocated / ${gib(t32?.peak_reserved_bytes)} reserved | ${gib(t16?.peak_allocated_bytes)} / ${gib(t16?.peak_reserved_bytes)} |`);
const baseline = base?.memory?.gpu?.baselineMiB ?? null;
if (base?.memory?.gpuPeakMarks?.length) {
  const marks = base.memory.gpuPeakMarks.map((m) => `${m.label.replace(/^upscale 1 \(cold\): /, '')} ${baseline != null && m.peakMiB >= 0 ? mib(m.peakMiB - baseline) : '–'}`);
  out.push(`| GPU memory peak so far above idle, by stage (cold run) | ${marks.join('; ')} | – | – |`);
}
out.push(`| wasm heap at the end (= peak) | ${gib(base?.memory?.wasmHeapBytes?.[0])} | – | – |`);
out.push(`| process RSS at the end | ${gib(base?.memory?.process?.rss)} | – | – |`);
if (base?.output) out.push(`\nOutput check (random weights: noise, but finite): ${JSON.stringify(base.output)}`);
if (base?.profile?.byKernel) {
  out.push('');
  out.push(`Profile of one UNet call: ${base.profile.dispatches} dispatches, ${ms(base.profile.totalKernelMs)} summed kernel time`);
  out.push('');
  out.push('| kernel (ORT program) | ms | dispatches | share |');
  out.push('|---|---|---|---|');
  for (const k of base.profile.byKernel.slice(0, 15)) out.push(`| ${k.name} | ${f(k.ms)} | ${k.calls} | ${f(k.share * 100)} % |`);
} else if (base?.profile) out.push(`\nProfile unavailable: ${JSON.stringify(base.profile)}`);
for (const [name, exp] of experiments) {
  if (!ok(exp)) continue;
  out.push('');
  out.push(`${name}: weights ${exp.modelDtype ?? 'float32'}, attention ${exp.attention ?? '?'}, model ${exp.weights ?? '?'}, UNet session options ${JSON.stringify(exp.options.unetOptions)}, EP options ${JSON.stringify(exp.options.epOptions ?? null)}, TurboFan ${exp.options.turbofan ? 'on' : 'off (Liftoff only)'}`);
  out.push('');
  out.push('| figure | baseline | experiment |');
  out.push('|---|---|---|');
  const cmp = (what, a, b) => out.push(`| ${what} | ${ms(a)} | ${ms(b)} |`);
  cmp('UNet step (sync, median)', med(base?.sync?.unetMs), med(exp.sync.unetMs));
  cmp('UNet call, CPU side (sync, median)', med(base?.sync?.unetCpuSideMs), med(exp.sync.unetCpuSideMs));
  cmp('time between UNet calls', med(base?.sync?.betweenUnetMs), med(exp.sync.betweenUnetMs));
  cmp('VAE encode', med(base?.sync?.vaeEncodeMs), med(exp.sync.vaeEncodeMs));
  cmp('VAE decode', med(base?.sync?.vaeDecodeMs), med(exp.sync.vaeDecodeMs));
  cmp('whole upscale (warm)', med(base?.warm?.totalMs), med(exp.warm.totalMs));
  cmp('UNet session creation', base?.load?.sessions?.find((x) => x.name === 'unet')?.ms, exp.load.sessions.find((x) => x.name === 'unet')?.ms);
  cmp('UNet first run', base?.cold?.firstRunMs?.unet, exp.cold.firstRunMs.unet);
  cmp('start-up', base?.cold?.startupMs, exp.cold.startupMs);
  out.push(`| peak GPU memory | ${mib(base?.memory?.gpu?.peakAboveBaselineMiB)} | ${mib(exp.memory.gpu.peakAboveBaselineMiB)} |`);
  out.push(`| output (rgb mean/std) | ${base?.output ? `${base.output.rgbMean}/${base.output.rgbStd}` : '–'} | ${exp.output ? `${exp.output.rgbMean}/${exp.output.rgbStd}` : '–'} |`);
}
for (const [name, r] of Object.entries(exports)) {
  if (!r || r.unreadable) continue;
  const sessions = Object.entries(r.sessions ?? {}).map(([k, v]) => `${k} ${v.exporter} ${f(v.export_seconds, 0)} s, ${f(v.weight_bytes / 2 ** 20, 0)} MiB`);
  out.push('');
  out.push(`${name}: ${r.model_id ?? ''}, attention ${r.options?.attention ?? '?'}, total ${f(r.total_seconds, 0)} s, ${f((r.total_bytes ?? 0) / 2 ** 30, 2)} GiB: ${sessions.join('; ')}`);
}
console.log(out.join('\n'));
