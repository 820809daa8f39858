// Colour of the panorama. uColor is an SRGB8_ALPHA8 texture (colorSpace = SRGBColorSpace), so the
// hardware decodes to linear on sampling; colorspace_fragment encodes to the output's colour space
// (sRGB canvas or XR layer). No tone mapping and no lighting: the pixels are the photograph.
precision highp float;

uniform sampler2D uColor;

varying vec2 vUv;

void main() {
  gl_FragColor = vec4(texture2D(uColor, vUv).rgb, 1.0);
  #include <colorspace_fragment>
}
