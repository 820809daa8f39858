// Depth-displaced panorama sphere. `position` is the unit direction of the vertex (mesh.ts), `uv`
// its texture coordinates (v = 0 at the top row, matching the un-flipped DataTextures).
//
// Depth is fetched, never filtered: a vertex on a depth edge takes the depth of one side instead
// of a blend that would float between foreground and background. The texel choice mirrors
// depthTexelIndex() in src/panorama/mesh.ts line for line (same float32 products), so the CPU
// (edge detection, tests) and the GPU place every vertex at the same distance.
precision highp float;
precision highp int;
precision highp sampler2D;

uniform sampler2D uDepth;   // R32F relative inverse depth in [0, 1], 1 = nearest
uniform sampler2D uDetail;      // detail layer (LDM3D-SR): premultiplied RGBA8, alpha = weight
uniform sampler2D uDetailDepth; // its relative inverse depth (R32F), same size as uDetail
uniform float uInvFar;      // 1 / far
uniform float uInvRange;    // 1 / near - 1 / far
// Pole blend (mesh.ts, poleBlendedDepth): the (north, south) pole rows' median inverse depth, and
// the band over which vertices converge to it, as a fraction of v (POLE_BAND_V).
uniform vec2 uPoleDepth;
uniform float uPoleBand;

// -1: read the depth texture. >= 0: this vertex belongs to a depth-edge triangle and sits at
// this inverse depth (its triangle's farthest vertex), so the triangle lies flat in the
// background instead of stretching from foreground to background (panorama-mesh.ts).
attribute float aDepth;

#ifdef PATCH
// Refined tiles under sharpened regions (src/panorama/patch-mesh.ts). (uA, vA, uB, vB): this
// boundary vertex lies on the coarser neighbour's segment A→B and is placed on it (no T-junction
// crack); uA < 0: a free vertex, displaced along its own direction like every base vertex.
attribute vec4 aStitch;
#endif

varying vec2 vUv;

ivec2 depthTexel(vec2 uv, ivec2 size) {
  // Poles: every pole vertex reads one texel, so the fan closes on one point (no crack).
  // Seam: fract(1.0) = 0.0, so the u = 0 and u = 1 columns read the same texel (no gap).
  float u = (uv.y <= 0.0 || uv.y >= 1.0) ? 0.5 : fract(uv.x);
  return clamp(ivec2(floor(vec2(u, uv.y) * vec2(size))), ivec2(0), size - 1);
}

// Near the poles, toward the pole row's median so the mesh converges to one distance there (no
// crown of spikes): weight smoothstep 0 → 1 over the last uPoleBand of v, exactly d outside it.
float poleBlend(float d, float v) {
  float t = 1.0 - min(v, 1.0 - v) / uPoleBand;
  if (t <= 0.0) return d;
  float w = t * t * (3.0 - 2.0 * t);
  return mix(d, v < 0.5 ? uPoleDepth.x : uPoleDepth.y, w);
}

// Relative inverse depth at uv: the base texel, mixed toward the detail layer (LDM3D-SR) by its
// alpha, each texture by the same texel rule at its own resolution, clamped, then the pole blend.
// panorama-mesh.ts and patch-mesh.ts (blendedInverseDepth) mirror this on the CPU for the edge
// test; edge triangles get their flat depth from there.
float blendedDepth(vec2 uv) {
  float d = texelFetch(uDepth, depthTexel(uv, textureSize(uDepth, 0)), 0).r;
  ivec2 dt = depthTexel(uv, textureSize(uDetailDepth, 0));
  float a = texelFetch(uDetail, dt, 0).a;
  return poleBlend(clamp(mix(d, texelFetch(uDetailDepth, dt, 0).r, a), 0.0, 1.0), uv.y);
}

// distance = 1 / lerp(1/far, 1/near, d): LDM3D depth is affine in inverse distance.
float distanceOf(float d) {
  return 1.0 / (uInvFar + uInvRange * clamp(d, 0.0, 1.0));
}

#ifdef PATCH
// uvToDirection() of src/panorama/equirect.ts.
vec3 directionOf(vec2 uv) {
  float lon = (uv.x - 0.5) * 6.283185307179586;
  float lat = (0.5 - uv.y) * 3.141592653589793;
  return vec3(sin(lon) * cos(lat), sin(lat), -cos(lon) * cos(lat));
}
#endif

void main() {
  vUv = uv;
  vec3 p;
#ifdef PATCH
  if (aDepth < 0.0 && aStitch.x >= 0.0) {
    // The fraction of uv along A→B: what the neighbour's triangle interpolates there too.
    vec2 e = aStitch.zw - aStitch.xy;
    float t = dot(uv - aStitch.xy, e) / dot(e, e);
    vec3 a = directionOf(aStitch.xy) * distanceOf(blendedDepth(aStitch.xy));
    vec3 b = directionOf(aStitch.zw) * distanceOf(blendedDepth(aStitch.zw));
    p = mix(a, b, t);
  } else
#endif
  {
    float d = aDepth < 0.0 ? blendedDepth(uv) : aDepth;
    float dist = distanceOf(d);
    p = position * dist;
  }
  gl_Position = projectionMatrix * modelViewMatrix * vec4(p, 1.0);
}
