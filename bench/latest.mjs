#!/usr/bin/env node
// bench/results/latest.json from one run of bench/run-device-headset.sh (its headset.tar.gz unpacked
// into DIR): the figures BENCHMARKS.md's headset table cites, each taken from a result file of that
// run, never typed in. Plain Node, no dependencies.
//   node bench/latest.mjs DIR [--out bench/results/latest.json] [--source NAME]
// Missing figures stay null (a phase that did not run), so the table can say "not measured".
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/latest.mjs DIR [--out FILE] [--source NAME]');
  process.exit(2);
}
const opt = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const read = (f) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : null);
const r3 = (x) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);
const ms = (x) => (x && typeof x === 'object' ? (x.median_ms ?? x.median ?? null) : (x ?? null));

/** A memory-compare configuration's figures (bench/lib/memory-compare.ts ConfigResult). */
function config(file, name) {
  const j = read(file);
  const c = j?.results?.find((r) => r.config.name === name);
  if (!c) return null;
  const t = c.second.timings;
  return {
    gpu: j.gpu?.gpu ?? j.adapter,
    modelLine: j.modelLine ?? null,
    stepMs: c.second.stepMedianMs,
    warmS: c.second.ms / 1000,
    firstS: c.first.ms / 1000,
    loadS: c.load.ms / 1000,
    peakGiB: c.peakSmiMiB === null ? null : c.peakSmiMiB / 1024,
    unetFull: t.unetFull ?? null,
    unetShallow: t.unetShallow ?? null,
    steps: c.config.generation?.steps ?? j.options?.steps,
  };
}
const torch = (f) => read(f)?.results?.fp32 ?? null;
const tDdim = torch('torch-ddim-dc1.json');
const tDpm = torch('torch-dpm-dc1.json');
const tDc = torch('torch-dpm-dc3.json');

const anyTorch = ['torch-ddim-dc1.json', 'torch-dpm-dc1.json', 'torch-dpm-dc3.json'].map(read).find((j) => j) ?? null;
const strictS = (t) => (t?.pipeline_strict_fp32?.total_ms_median ?? null) / 1000 || null;
const desktop = config('memory-fp32.json', 'resident');
const desktopDpm = config('memory-fp32.json', 'desktop-dpm20');
// The headset preset as the app runs it: the faster of the measured DeepCache settings only when
// HEADSET_DEEPCACHE_INTERVAL turns it on (src/pipeline/presets.ts); --headset-config names it.
const headsetName = opt('--headset-config') ?? 'headset+keep';
// DeepCache configurations ran in a process of their own (memory-int8-dc.json) or with the rest.
const headset = config('memory-int8-dc.json', headsetName) ?? config('memory-int8.json', headsetName);
// The per-step figure is the full UNet step of the same configuration without DeepCache (a
// DeepCache run's median step is a shallow one, which says nothing about the kernels).
const headsetFullName = headsetName.replace(/\+dc\d+$/, '');
const headsetFull = config('memory-int8.json', headsetFullName);
const sliced = config('memory-int8-sliced-limits.json', headsetName) ?? config('memory-int8-sliced-limits.json', 'headset+keep');
// The headset preset with every session kept (what the ≤ 4 s target needs) and, on the same
// configuration, the export rewritten with wrap padding (issue 12's cost).
const allKept = config('memory-int8.json', 'headset+resident+dc3');
const wrapped = config('memory-int8-wrap.json', 'headset+resident+dc3');
const parity = read('parity.json');
const fp32Parity = parity?.fullsize?.find?.((s) => s.label === 'fp32') ?? null;
// parity-webgpu.ts: fullsize[].unet is one entry per timestep checked; the worst one is cited.
const worst = (xs) => (Array.isArray(xs) ? xs.reduce((a, b) => (b.rel > a.rel ? b : a), xs[0]) : xs) ?? null;
const stage = (name) => worst(fp32Parity?.[name] ?? null);

const out = {
  gpu: headset?.gpu ?? desktop?.gpu ?? anyTorch?.gpu ?? null,
  date: (read('memory-int8.json') ?? read('memory-fp32.json') ?? anyTorch)?.date ?? null,
  source: opt('--source') ?? dir,
  desktop: {
    unet_step_ms: r3(desktop?.stepMs),
    torch_strict_step_ms: r3(ms(tDdim?.unet_strict_fp32_ms ?? tDpm?.unet_strict_fp32_ms)),
    panorama_warm_s: r3(desktop?.warmS),
    peak_gib: r3(desktop?.peakGiB),
    steps: desktop?.steps ?? null,
    scheduler: 'ddim',
    preset_dpm20_panorama_warm_s: r3(desktopDpm?.warmS),
  },
  headset: {
    config: headsetName,
    full_step_config: headsetFullName,
    unet_step_ms: r3(headsetFull?.stepMs),
    torch_strict_step_ms: r3(ms(tDpm?.unet_strict_fp32_ms ?? tDdim?.unet_strict_fp32_ms)),
    panorama_warm_s_without_deepcache: r3(headsetFull?.warmS),
    unet_evaluations: headset ? headset.steps : null,
    unet_full_calls: headset?.unetFull ?? null,
    unet_shallow_calls: headset?.unetShallow ?? null,
    panorama_warm_s: r3(headset?.warmS),
    panorama_first_s: r3(headset ? headset.loadS + headset.firstS : null),
    peak_gib: r3(headset?.peakGiB),
    peak_gib_default_limits_no_subgroups: r3(sliced?.peakGiB),
    torch_strict_panorama_s: r3((headsetName.includes('+dc') ? tDc : tDpm)?.pipeline_strict_fp32?.total_ms_median / 1000),
  },
  headset_all_sessions_kept: {
    config: allKept ? 'headset+resident+dc3' : null,
    panorama_warm_s: r3(allKept?.warmS),
    panorama_first_s: r3(allKept ? allKept.loadS + allKept.firstS : null),
    peak_gib: r3(allKept?.peakGiB),
  },
  wrap_cost: {
    config: wrapped ? 'headset+resident+dc3' : null,
    panorama_warm_s_plain: r3(allKept?.warmS),
    panorama_warm_s_wrapped: r3(wrapped?.warmS),
    time_ratio: allKept && wrapped ? r3(wrapped.warmS / allKept.warmS) : null,
    peak_gib_plain: r3(allKept?.peakGiB),
    peak_gib_wrapped: r3(wrapped?.peakGiB),
  },
  // PyTorch strict fp32 (TF32 off) on the same GPU: the headset preset's work without and with the
  // authors' DeepCache (N = 3, branch 0), and what DeepCache saves there.
  torch_strict: {
    dpm20_panorama_s: r3(strictS(tDpm)),
    dpm20_deepcache3_panorama_s: r3(strictS(tDc)),
    deepcache3_saving: strictS(tDpm) && strictS(tDc) ? r3(strictS(tDpm) / strictS(tDc)) : null,
    unet_full_ms: r3(ms(tDc?.unet_strict_fp32_ms ?? tDpm?.unet_strict_fp32_ms)),
    unet_shallow_ms: r3(ms(tDc?.unet_shallow_strict_fp32_ms)),
    deepcache3_full_calls: tDc?.pipeline_strict_fp32?.unet_full_calls ?? null,
    deepcache3_shallow_calls: tDc?.pipeline_strict_fp32?.unet_shallow_calls ?? null,
  },
  parity_fullsize: {
    unet_max_abs: stage('unet')?.maxAbs ?? null,
    unet_rel_to_std: stage('unet')?.rel ?? null,
    vae_max_abs: stage('vae')?.maxAbs ?? null,
    final_latents_rel_to_std: fp32Parity?.pipeline?.finalLatents?.rel ?? null,
  },
};
const file = opt('--out') ?? 'bench/results/latest.json';
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out, null, 2));
