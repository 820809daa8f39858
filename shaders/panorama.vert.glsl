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

// -1: read the depth texture. >= 0: this vertex belongs to a depth-edge triangle and sits at
// this inverse depth (its triangle's farthest vertex), so the triangle lies flat in the
// background instead of stretching from foreground to background (panorama-mesh.ts).
attribute float aDepth;

varying vec2 vUv;

ivec2 depthTexel(vec2 uv, ivec2 size) {
  // Poles: every pole vertex reads one texel, so the fan closes on one point (no crack).
  // Seam: fract(1.0) = 0.0, so the u = 0 and u = 1 columns read the same texel (no gap).
  float u = (uv.y <= 0.0 || uv.y >= 1.0) ? 0.5 : fract(uv.x);
  return clamp(ivec2(floor(vec2(u, uv.y) * vec2(size))), ivec2(0), size - 1);
}

void main() {
  vUv = uv;
  float d = aDepth;
  if (d < 0.0) {
    d = texelFetch(uDepth, depthTexel(uv, textureSize(uDepth, 0)), 0).r;
    // The detail layer by the same texel rule at its own resolution (panorama-mesh.ts mirrors
    // this blend on the CPU for the edge test; edge triangles get their flat depth from there).
    ivec2 dt = depthTexel(uv, textureSize(uDetailDepth, 0));
    float a = texelFetch(uDetail, dt, 0).a;
    d = mix(d, texelFetch(uDetailDepth, dt, 0).r, a);
  }
  // distance = 1 / lerp(1/far, 1/near, d): LDM3D depth is affine in inverse distance.
  float dist = 1.0 / (uInvFar + uInvRange * clamp(d, 0.0, 1.0));
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position * dist, 1.0);
}
