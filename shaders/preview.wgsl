// Latent → RGB + depth preview at latent resolution (1/8 of the image), one thread per latent pixel.
// v = M·z + bias for the 4 latent channels z; clamp to [−1, 1]; (v + 1)/2 as 8-bit RGBA, where
// A carries the depth guess. M's columns are the per-channel factors (src/pipeline/preview.ts).

struct Params {
  hw: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  m: mat4x4<f32>,
  bias: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> latent: array<f32>;
@group(0) @binding(2) var<storage, read_write> out_px: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.hw) {
    return;
  }
  let z = vec4<f32>(latent[i], latent[p.hw + i], latent[2u * p.hw + i], latent[3u * p.hw + i]);
  let v = clamp(p.m * z + p.bias, vec4<f32>(-1.0), vec4<f32>(1.0));
  out_px[i] = pack4x8unorm((v + vec4<f32>(1.0)) * 0.5);
}
