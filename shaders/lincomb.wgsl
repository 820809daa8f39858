// out[outOffset + i] = Σ_k coef[k] · src_k[offset[k] + i]   for i < n
//
// The one kernel behind every scheduler step and classifier-free guidance (src/pipeline/latents-gpu.ts):
// the coefficients are computed on the CPU per step, the latents never leave the GPU.
// A term may read the output buffer itself (src 0): WebGPU forbids binding one buffer both
// read-write and read-only in a dispatch, and in-place x ← a·x + b·ε is element-wise, so it is safe.

const MAX_TERMS: u32 = 8u;

struct Params {
  n: u32,
  out_offset: u32,
  count: u32,
  // Threads per row of the 2-D dispatch (workgroups in x · 64), for n above 65535 · 64.
  row: u32,
  // Per term, packed 4 to a vec4 (uniform arrays need 16-byte elements).
  src: array<vec4<u32>, 2>,
  offset: array<vec4<u32>, 2>,
  coef: array<vec4<f32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out_buf: array<f32>;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(3) var<storage, read> in1: array<f32>;
@group(0) @binding(4) var<storage, read> in2: array<f32>;
@group(0) @binding(5) var<storage, read> in3: array<f32>;

fn load(src: u32, i: u32) -> f32 {
  switch src {
    case 0u: { return out_buf[i]; }
    case 1u: { return in0[i]; }
    case 2u: { return in1[i]; }
    case 3u: { return in2[i]; }
    default: { return in3[i]; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) {
    return;
  }
  var acc = 0.0;
  for (var k = 0u; k < min(p.count, MAX_TERMS); k = k + 1u) {
    let q = k / 4u;
    let r = k % 4u;
    acc = acc + p.coef[q][r] * load(p.src[q][r], p.offset[q][r] + i);
  }
  out_buf[p.out_offset + i] = acc;
}
