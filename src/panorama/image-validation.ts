/**
 * Checks and conversions for user-imported panoramas, on already-decoded pixel arrays (the app
 * decodes files with fast-png or createImageBitmap; this module never touches files or the DOM).
 *
 * Policy: anything that can be fixed without guessing is fixed and reported as a notice (size
 * mismatch, too large for the GPU, almost-2:1); anything that cannot (not a panorama, no depth,
 * unreadable samples) is an error with a sentence the user can act on. Nothing throws for bad
 * input; only programming errors (e.g. maxTextureSize < 2) throw.
 */
import type { RGBDPanorama } from './types';

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

export type ImportMessageCode =
  | 'empty'
  | 'not-2-to-1'
  | 'almost-2-to-1'
  | 'missing-depth'
  | 'over-under'
  | 'size-mismatch'
  | 'too-large'
  | 'bad-samples'
  | 'depth-8-bit-in-16'
  | 'depth-rescaled'
  | 'depth-not-finite'
  | 'depth-flat';

export interface ImportMessage {
  /** 'error': the panorama cannot be shown. 'notice': it was fixed; tell the user what changed. */
  readonly severity: 'error' | 'notice';
  readonly code: ImportMessageCode;
  /** A complete sentence for the user. */
  readonly message: string;
}

export interface PanoramaPlan {
  /** No errors: `preparePanorama` will produce a panorama of size `target`. */
  readonly ok: boolean;
  readonly messages: readonly ImportMessage[];
  /** 'pair': separate colour and depth images; 'over-under': one 1:1 image, colour on top. */
  readonly layout: 'pair' | 'over-under';
  /** Colour and depth sizes as found (over-under: the two halves). */
  readonly rgb: ImageSize;
  readonly depth: ImageSize | null;
  /** Size of both maps in the resulting RGBDPanorama (exactly 2:1); 0 × 0 when not ok. */
  readonly target: ImageSize;
}

/** Relative deviation from 2:1 treated as rounding (e.g. 2000 × 1001) and fixed with a notice. */
export const ASPECT_TOLERANCE = 0.01;

const fmt = (s: ImageSize): string => `${s.width} × ${s.height}`;

function aspectError(what: string, s: ImageSize): ImportMessage {
  const ratio = (s.width / s.height).toFixed(2).replace(/\.?0+$/, '');
  return {
    severity: 'error',
    code: 'not-2-to-1',
    message:
      `${what} is ${fmt(s)} pixels (${ratio} : 1). A 360° equirectangular panorama must be ` +
      `exactly twice as wide as it is high (2 : 1).`,
  };
}

function aspectOff(s: ImageSize): number {
  return Math.abs(s.width / s.height / 2 - 1);
}

/** One 1:1 image holding colour (top half) and depth (bottom half), each 2:1. */
export function isOverUnderLayout(size: ImageSize): boolean {
  return size.width > 0 && Math.abs(size.width / size.height - 1) <= ASPECT_TOLERANCE;
}

/**
 * Decides what to do with a colour image and an optional depth image of the given sizes, on a GPU
 * whose textures may be at most `maxTextureSize` wide (WebGL's MAX_TEXTURE_SIZE). Without a depth
 * image, a 1:1 colour image is read as over-under (colour on top, depth below).
 */
export function validatePanoramaPair(
  sizes: { readonly rgb: ImageSize; readonly depth?: ImageSize | null },
  maxTextureSize: number,
): PanoramaPlan {
  if (!Number.isInteger(maxTextureSize) || maxTextureSize < 2) {
    throw new RangeError(`maxTextureSize must be an integer ≥ 2 (got ${maxTextureSize}).`);
  }
  const messages: ImportMessage[] = [];
  const fail = (layout: PanoramaPlan['layout'], rgb: ImageSize, depth: ImageSize | null): PanoramaPlan => ({
    ok: false,
    messages,
    layout,
    rgb,
    depth,
    target: { width: 0, height: 0 },
  });
  const empty = (s: ImageSize): boolean => !(s.width >= 1 && s.height >= 1);

  let layout: PanoramaPlan['layout'] = 'pair';
  let rgb = sizes.rgb;
  let depth = sizes.depth ?? null;
  if (empty(rgb)) {
    messages.push({ severity: 'error', code: 'empty', message: 'The colour image is empty (0 pixels).' });
    return fail(layout, rgb, depth);
  }
  if (depth !== null && empty(depth)) {
    messages.push({ severity: 'error', code: 'empty', message: 'The depth image is empty (0 pixels).' });
    return fail(layout, rgb, depth);
  }
  if (depth === null) {
    if (!isOverUnderLayout(rgb) || rgb.height < 2) {
      messages.push({
        severity: 'error',
        code: 'missing-depth',
        message:
          `No depth image was given for the ${fmt(rgb)} colour image. Choose its depth image too, ` +
          `or one square image with the colour panorama on top and the depth below.`,
      });
      return fail(layout, rgb, depth);
    }
    layout = 'over-under';
    const half = Math.floor(rgb.height / 2);
    messages.push({
      severity: 'notice',
      code: 'over-under',
      message: `The ${fmt(rgb)} image was read as colour on top and depth below (two ${rgb.width} × ${half} panoramas).`,
    });
    rgb = { width: rgb.width, height: half };
    depth = { width: rgb.width, height: half };
  }

  if (aspectOff(rgb) > ASPECT_TOLERANCE) messages.push(aspectError('The colour panorama', rgb));
  if (aspectOff(depth) > ASPECT_TOLERANCE) messages.push(aspectError('The depth panorama', depth));
  if (messages.some((m) => m.severity === 'error')) return fail(layout, rgb, depth);

  // Target: the colour image's resolution, made exactly 2:1, capped by the GPU.
  const exactHeight = Math.max(1, Math.floor(rgb.width / 2));
  const cappedHeight = Math.max(1, Math.min(exactHeight, Math.floor(maxTextureSize / 2)));
  const target: ImageSize = { width: 2 * cappedHeight, height: cappedHeight };
  const exact: ImageSize = { width: 2 * exactHeight, height: exactHeight };
  if (exact.width !== rgb.width || exact.height !== rgb.height) {
    messages.push({
      severity: 'notice',
      code: 'almost-2-to-1',
      message: `The colour panorama is ${fmt(rgb)}, almost 2 : 1; it was resized to exactly ${fmt(exact)}.`,
    });
  }
  if (target.width !== exact.width) {
    messages.push({
      severity: 'notice',
      code: 'too-large',
      message:
        `The panorama (${fmt(rgb)}) is larger than this device's largest texture (${maxTextureSize} pixels ` +
        `wide); it was downscaled to ${fmt(target)}.`,
    });
  }
  if (depth.width !== rgb.width || depth.height !== rgb.height) {
    messages.push({
      severity: 'notice',
      code: 'size-mismatch',
      message:
        `The depth image (${fmt(depth)}) is not the size of the colour image (${fmt(rgb)}); it was ` +
        `resized to match, without blending depths so edges stay sharp.`,
    });
  }
  return { ok: true, messages, layout, rgb, depth, target };
}

// ---------------------------------------------------------------------------------------------
// Decoded pixels.

/**
 * Pixels as a decoder hands them over: fast-png's `{width, height, data, channels}` (8- or 16-bit;
 * convert palette images with fast-png's `convertIndexedToRgb` first) or canvas ImageData
 * (`channels: 4`). Float32 data is taken as already in [0, 1] units (e.g. a depth array).
 */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray | Uint16Array | Float32Array;
  /** Interleaved channels per pixel: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  readonly channels: number;
}

/** A user-facing reason why `image` cannot be read, or null. */
export function decodedImageProblem(image: DecodedImage, what: string): string | null {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) {
    return `${what} has ${channels} channels per pixel; only grey, grey + alpha, RGB and RGBA can be read.`;
  }
  if (data.length !== width * height * channels) {
    return `${what} is damaged or was decoded wrongly: ${data.length} samples for ${width} × ${height} pixels × ${channels} channels.`;
  }
  return null;
}

/** Splits an over-under image into colour (top half) and depth (bottom half); odd last row dropped. */
export function splitOverUnder(image: DecodedImage): { top: DecodedImage; bottom: DecodedImage } {
  const half = Math.floor(image.height / 2);
  const rowLen = image.width * image.channels;
  return {
    top: { ...image, height: half, data: image.data.slice(0, half * rowLen) },
    bottom: { ...image, height: half, data: image.data.slice(half * rowLen, 2 * half * rowLen) },
  };
}

/** Any decoded colour image → RGBA8 (16-bit is rounded to 8, grey is replicated, alpha kept). */
export function toRgba8(image: DecodedImage): Uint8ClampedArray {
  const { width, height, channels, data } = image;
  const n = width * height;
  const out = new Uint8ClampedArray(n * 4);
  const scale = data instanceof Uint16Array ? 255 / 65535 : data instanceof Float32Array ? 255 : 1;
  const hasAlpha = channels === 2 || channels === 4;
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    const r = data[j] * scale;
    const g = channels >= 3 ? data[j + 1] * scale : r;
    const b = channels >= 3 ? data[j + 2] * scale : r;
    out[i * 4] = r; // Uint8ClampedArray rounds and clamps.
    out[i * 4 + 1] = g;
    out[i * 4 + 2] = b;
    out[i * 4 + 3] = hasAlpha ? data[j + channels - 1] * scale : 255;
  }
  return out;
}

/**
 * Depth pixels (channel 0; grey saved as RGB has R = G = B) → relative inverse depth, Float32 in
 * [0, 1], brighter = nearer: 8-bit /255, 16-bit /65535 (as diffusers reads LDM3D depth), float as is.
 * Repairs, each with a notice: non-finite floats → 0 (far); floats outside [0, 1] → min–max
 * rescaled; 16-bit files holding only 0…255 (an 8-bit map saved as 16-bit) → read as 8-bit.
 */
export function normalizeDepth(image: DecodedImage): { depth: Float32Array; messages: ImportMessage[] } {
  const { width, height, channels, data } = image;
  const n = width * height;
  const depth = new Float32Array(n);
  const messages: ImportMessage[] = [];
  if (data instanceof Float32Array) {
    let bad = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0, j = 0; i < n; i++, j += channels) {
      const v = data[j];
      if (!Number.isFinite(v)) {
        bad++;
        continue;
      }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const rescale = lo < 0 || hi > 1;
    for (let i = 0, j = 0; i < n; i++, j += channels) {
      const v = data[j];
      depth[i] = !Number.isFinite(v) ? 0 : rescale ? (hi > lo ? (v - lo) / (hi - lo) : 0) : v;
    }
    if (bad > 0) {
      messages.push({
        severity: 'notice',
        code: 'depth-not-finite',
        message: `${bad} depth pixels were not numbers; they were placed at the far distance.`,
      });
    }
    if (rescale) {
      messages.push({
        severity: 'notice',
        code: 'depth-rescaled',
        message:
          `The depth values span ${lo.toPrecision(4)} … ${hi.toPrecision(4)} instead of 0 … 1; they were ` +
          `rescaled to 0 … 1, read as inverse depth (larger = nearer).`,
      });
    }
  } else {
    let divisor = data instanceof Uint16Array ? 65535 : 255;
    if (data instanceof Uint16Array) {
      let hi = 0;
      for (let i = 0, j = 0; i < n; i++, j += channels) if (data[j] > hi) hi = data[j];
      if (hi > 1 && hi <= 255) {
        divisor = 255;
        messages.push({
          severity: 'notice',
          code: 'depth-8-bit-in-16',
          message:
            'The 16-bit depth image only uses values 0 … 255, so it is an 8-bit depth map saved as ' +
            '16-bit; it was read as 8-bit (otherwise everything would sit at the far distance).',
        });
      }
    }
    for (let i = 0, j = 0; i < n; i++, j += channels) depth[i] = data[j] / divisor;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (depth[i] < lo) lo = depth[i];
    if (depth[i] > hi) hi = depth[i];
  }
  if (n > 0 && hi === lo) {
    messages.push({
      severity: 'notice',
      code: 'depth-flat',
      message: 'The depth image is one flat value, so the panorama will look like a plain sphere around you.',
    });
  }
  return { depth, messages };
}

// ---------------------------------------------------------------------------------------------
// Resampling (horizontal wrap: column 0 and column W−1 are neighbours across the 360° seam).

/**
 * Nearest-neighbour resize of a single-channel map: each output pixel copies the source pixel
 * under its centre, so depths on the two sides of an edge are never blended into a floating
 * in-between surface.
 */
export function resampleNearest(
  src: Float32Array,
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
): Float32Array {
  const out = new Float32Array(dstWidth * dstHeight);
  const xs = new Int32Array(dstWidth);
  for (let x = 0; x < dstWidth; x++) xs[x] = Math.min(srcWidth - 1, Math.floor(((x + 0.5) * srcWidth) / dstWidth));
  for (let y = 0; y < dstHeight; y++) {
    const sy = Math.min(srcHeight - 1, Math.floor(((y + 0.5) * srcHeight) / dstHeight));
    const row = sy * srcWidth;
    const o = y * dstWidth;
    for (let x = 0; x < dstWidth; x++) out[o + x] = src[row + xs[x]];
  }
  return out;
}

interface Taps {
  /** Source index per tap, `count` taps per output sample, laid out flat. */
  readonly index: Int32Array;
  readonly weight: Float32Array;
  readonly count: number;
}

/**
 * Tent-filter taps for resizing n → m samples: bilinear when enlarging, a tent as wide as the
 * shrink factor when shrinking (so every source pixel contributes: no aliasing of fine detail).
 */
function tentTaps(n: number, m: number, wrap: boolean): Taps {
  const scale = n / m;
  const radius = Math.max(1, scale);
  const count = Math.ceil(radius) * 2 + 1;
  const index = new Int32Array(m * count);
  const weight = new Float32Array(m * count);
  for (let o = 0; o < m; o++) {
    const centre = (o + 0.5) * scale - 0.5;
    const first = Math.ceil(centre - radius);
    let sum = 0;
    for (let k = 0; k < count; k++) {
      const s = first + k;
      const w = Math.max(0, 1 - Math.abs(s - centre) / radius);
      let idx = s;
      if (wrap) idx = ((s % n) + n) % n;
      else idx = s < 0 ? 0 : s >= n ? n - 1 : s;
      index[o * count + k] = idx;
      weight[o * count + k] = w;
      sum += w;
    }
    for (let k = 0; k < count; k++) weight[o * count + k] /= sum;
  }
  return { index, weight, count };
}

let srgbToLinearLut: Float32Array | null = null;
let linearToSrgbLut: Uint8Array | null = null;
const LINEAR_LUT_SIZE = 16384;

function luts(): { toLinear: Float32Array; toSrgb: Uint8Array } {
  if (srgbToLinearLut === null || linearToSrgbLut === null) {
    srgbToLinearLut = new Float32Array(256);
    for (let i = 0; i < 256; i++) {
      const c = i / 255;
      srgbToLinearLut[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }
    linearToSrgbLut = new Uint8Array(LINEAR_LUT_SIZE + 1);
    for (let i = 0; i <= LINEAR_LUT_SIZE; i++) {
      const l = i / LINEAR_LUT_SIZE;
      const c = l <= 0.0031308 ? l * 12.92 : 1.055 * l ** (1 / 2.4) - 0.055;
      linearToSrgbLut[i] = Math.round(c * 255);
    }
  }
  return { toLinear: srgbToLinearLut, toSrgb: linearToSrgbLut };
}

/**
 * Resizes sRGB RGBA8 colour, filtering in linear light (averaging sRGB bytes would darken fine
 * bright-dark detail). Memory: two float rows, whatever the size.
 */
export function resampleRgba(
  src: Uint8Array | Uint8ClampedArray,
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(dstWidth * dstHeight * 4);
  if (srcWidth === dstWidth && srcHeight === dstHeight) {
    out.set(src);
    return out;
  }
  const { toLinear, toSrgb } = luts();
  const tx = tentTaps(srcWidth, dstWidth, true);
  const ty = tentTaps(srcHeight, dstHeight, false);
  const column = new Float32Array(srcWidth * 4); // one output row's vertical filter, full source width
  for (let y = 0; y < dstHeight; y++) {
    column.fill(0);
    for (let k = 0; k < ty.count; k++) {
      const w = ty.weight[y * ty.count + k];
      if (w === 0) continue;
      const row = ty.index[y * ty.count + k] * srcWidth * 4;
      for (let x = 0, s = row; x < srcWidth * 4; x += 4, s += 4) {
        column[x] += w * toLinear[src[s]];
        column[x + 1] += w * toLinear[src[s + 1]];
        column[x + 2] += w * toLinear[src[s + 2]];
        column[x + 3] += w * src[s + 3];
      }
    }
    for (let x = 0; x < dstWidth; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let k = 0; k < tx.count; k++) {
        const w = tx.weight[x * tx.count + k];
        if (w === 0) continue;
        const s = tx.index[x * tx.count + k] * 4;
        r += w * column[s];
        g += w * column[s + 1];
        b += w * column[s + 2];
        a += w * column[s + 3];
      }
      const o = (y * dstWidth + x) * 4;
      out[o] = toSrgb[Math.min(LINEAR_LUT_SIZE, Math.max(0, Math.round(r * LINEAR_LUT_SIZE)))];
      out[o + 1] = toSrgb[Math.min(LINEAR_LUT_SIZE, Math.max(0, Math.round(g * LINEAR_LUT_SIZE)))];
      out[o + 2] = toSrgb[Math.min(LINEAR_LUT_SIZE, Math.max(0, Math.round(b * LINEAR_LUT_SIZE)))];
      out[o + 3] = a;
    }
  }
  return out;
}

/**
 * The whole import: validate sizes, split over-under, convert colour to RGBA8 and depth to Float32
 * [0, 1], resize both to the plan's target. `depth` null = the colour image may be over-under.
 * Returns null with the error messages when the images cannot be used; never throws for bad input.
 */
export function preparePanorama(
  rgb: DecodedImage,
  depth: DecodedImage | null,
  maxTextureSize: number,
): { panorama: RGBDPanorama | null; messages: ImportMessage[] } {
  const messages: ImportMessage[] = [];
  const problems = [decodedImageProblem(rgb, depth === null ? 'The image' : 'The colour image')];
  if (depth !== null) problems.push(decodedImageProblem(depth, 'The depth image'));
  for (const p of problems) if (p !== null) messages.push({ severity: 'error', code: 'bad-samples', message: p });
  if (messages.length > 0) return { panorama: null, messages };

  const plan = validatePanoramaPair({ rgb, depth }, maxTextureSize);
  messages.push(...plan.messages);
  if (!plan.ok) return { panorama: null, messages };

  let colourImage = rgb;
  let depthImage = depth;
  if (plan.layout === 'over-under') {
    const { top, bottom } = splitOverUnder(rgb);
    colourImage = top;
    depthImage = bottom;
  }
  if (depthImage === null) throw new Error('unreachable: validated plan without depth');
  const { width, height } = plan.target;
  const rgba = resampleRgba(toRgba8(colourImage), colourImage.width, colourImage.height, width, height);
  const normalised = normalizeDepth(depthImage);
  messages.push(...normalised.messages);
  const d =
    depthImage.width === width && depthImage.height === height
      ? normalised.depth
      : resampleNearest(normalised.depth, depthImage.width, depthImage.height, width, height);
  return { panorama: { width, height, rgba, depth: d }, messages };
}
