// Colour of the panorama. uColor is an SRGB8_ALPHA8 texture (colorSpace = SRGBColorSpace), so the
// hardware decodes to linear on sampling; colorspace_fragment encodes to the output's colour space
// (sRGB canvas or XR layer). No tone mapping and no lighting: the pixels are the photograph.
precision highp float;

uniform sampler2D uColor;
uniform sampler2D uDetail; // premultiplied sRGB bytes (no hardware decode), alpha = blend weight

varying vec2 vUv;

void main() {
  vec3 base = texture2D(uColor, vUv).rgb;
  vec4 detail = texture2D(uDetail, vUv);
  // Un-premultiply, then decode sRGB to linear like the base texture's hardware decode.
  vec3 srgb = detail.a > 0.0 ? clamp(detail.rgb / detail.a, 0.0, 1.0) : vec3(0.0);
  vec3 lin = mix(srgb / 12.92, pow((srgb + 0.055) / 1.055, vec3(2.4)), step(0.04045, srgb));
  gl_FragColor = vec4(mix(base, lin, detail.a), 1.0);
  #include <colorspace_fragment>
}
