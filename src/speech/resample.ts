/**
 * Sample-rate conversion to Whisper's 16 kHz mono, pure and streaming.
 *
 * Microphones deliver 44.1 or 48 kHz (an AudioContext runs at the device rate: Firefox refuses to
 * connect a MediaStream to a context of another rate, so we never ask the browser to resample),
 * espeak-ng writes 22.05 kHz. Whisper's log-mel front end looks at 0-8 kHz, so everything between
 * 8 kHz and the source Nyquist (fricatives, hiss, fan noise) must be removed BEFORE decimation or it
 * folds back into the speech band. Linear interpolation or sample dropping does no filtering at all.
 *
 * Filter: a Kaiser-windowed sinc evaluated at the exact fractional position of every output sample
 * (polyphase: one tap set per distinct phase, precomputed). Passband flat to 0.9 x the lower Nyquist
 * (7.2 kHz for 16 kHz output), stopband from the lower Nyquist (8 kHz) with >= 80 dB attenuation
 * (Kaiser beta 7.86 and a length from Kaiser's formula, e.g. 301 taps at 48 kHz). Each phase is
 * normalised to unit DC gain so no phase-dependent ripple appears on a constant signal. The filter is
 * zero-phase (centred), so output sample k sits exactly at input time k * from / to: the VAD's
 * timestamps keep meaning "seconds since the first sample" through the conversion.
 */

export const WHISPER_SAMPLE_RATE = 16000;

export interface ResamplerOptions {
  /** Stopband attenuation in dB (Kaiser design). */
  attenuationDb?: number;
  /** Passband edge as a fraction of the lower Nyquist frequency; the stopband starts at 1.0. */
  passband?: number;
}

/** Average the channels (not "take the left one": a stereo mic may carry speech mostly on one side). */
export function downmix(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 0) throw new RangeError('downmix: no channels given.');
  if (channels.length === 1) return channels[0];
  const n = channels[0].length;
  for (const c of channels) {
    if (c.length !== n) throw new RangeError('downmix: channels have different lengths.');
  }
  const out = new Float32Array(n);
  const scale = 1 / channels.length;
  for (const c of channels) for (let i = 0; i < n; i++) out[i] += c[i] * scale;
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series), for the Kaiser window. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** Largest L (output phases) for which the tap table is precomputed; beyond it taps are computed per sample. */
const MAX_TABLE_PHASES = 4096;

export class StreamingResampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Half the filter length, in input samples. */
  readonly halfTaps: number;
  private readonly up: number; // L
  private readonly down: number; // M
  private readonly cutoff: number; // cycles per input sample
  private readonly beta: number;
  private readonly i0Beta: number;
  private readonly table: Float32Array | null;
  private buf = new Float32Array(0);
  private bufLength = 0;
  /** Absolute input index of buf[0]. */
  private bufStart = 0;
  private inputCount = 0;
  /** Index of the next output sample. */
  private k = 0;
  private flushed = false;

  constructor(fromRate: number, toRate: number = WHISPER_SAMPLE_RATE, options: ResamplerOptions = {}) {
    if (!Number.isInteger(fromRate) || fromRate <= 0 || !Number.isInteger(toRate) || toRate <= 0) {
      throw new RangeError(`Sample rates must be positive integers (got ${fromRate} -> ${toRate}).`);
    }
    this.fromRate = fromRate;
    this.toRate = toRate;
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;
    const attenuation = options.attenuationDb ?? 80;
    const passband = options.passband ?? 0.9;
    const nyquist = Math.min(fromRate, toRate) / 2;
    // Cut in the middle of the transition band [passband * nyquist, nyquist].
    this.cutoff = ((1 + passband) / 2) * nyquist / fromRate;
    const transition = (2 * Math.PI * (1 - passband) * nyquist) / fromRate; // rad per input sample
    this.beta = attenuation > 50 ? 0.1102 * (attenuation - 8.7) : 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21);
    this.i0Beta = besselI0(this.beta);
    const length = Math.ceil((attenuation - 7.95) / (2.285 * transition)) + 1;
    this.halfTaps = Math.max(2, Math.ceil(length / 2));
    if (fromRate === toRate) {
      this.table = null;
    } else if (this.up <= MAX_TABLE_PHASES) {
      const taps = 2 * this.halfTaps;
      this.table = new Float32Array(this.up * taps);
      for (let p = 0; p < this.up; p++) this.fillTaps(p / this.up, this.table.subarray(p * taps, (p + 1) * taps));
    } else {
      this.table = null;
    }
  }

  /**
   * Taps for an output sample at input position n + frac: tap j multiplies input n - half + 1 + j,
   * i.e. sits at distance x = frac + half - 1 - j from the output instant.
   */
  private fillTaps(frac: number, out: Float32Array): void {
    const half = this.halfTaps;
    const fc = this.cutoff;
    let sum = 0;
    for (let j = 0; j < out.length; j++) {
      const x = frac + half - 1 - j;
      const r = x / half;
      const w = Math.abs(r) >= 1 ? 0 : besselI0(this.beta * Math.sqrt(1 - r * r)) / this.i0Beta;
      const arg = 2 * fc * x;
      const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
      out[j] = 2 * fc * sinc * w;
      sum += out[j];
    }
    for (let j = 0; j < out.length; j++) out[j] /= sum;
  }

  /** Feed input samples; returns the output samples that are now fully determined (may be empty). */
  push(input: Float32Array): Float32Array {
    if (this.flushed) throw new Error('StreamingResampler: push() after flush().');
    this.append(input);
    return this.produce(false);
  }

  /** Ends the stream: the samples after the last input are taken as silence. */
  flush(): Float32Array {
    if (this.flushed) return new Float32Array(0);
    const out = this.produce(true);
    this.flushed = true;
    return out;
  }

  /** Output samples for a stream of `inputLength` samples: those whose instant lies inside it. */
  outputLength(inputLength: number): number {
    return Math.ceil((inputLength * this.up) / this.down);
  }

  private append(input: Float32Array): void {
    if (this.bufLength + input.length > this.buf.length) {
      const next = new Float32Array(Math.max(this.buf.length * 2, this.bufLength + input.length, 4096));
      next.set(this.buf.subarray(0, this.bufLength));
      this.buf = next;
    }
    this.buf.set(input, this.bufLength);
    this.bufLength += input.length;
    this.inputCount += input.length;
  }

  private produce(final: boolean): Float32Array {
    const half = this.halfTaps;
    if (this.fromRate === this.toRate) {
      const copy = this.buf.slice(0, this.bufLength);
      this.bufStart += this.bufLength;
      this.bufLength = 0;
      this.k += copy.length;
      return copy;
    }
    // Output k needs inputs up to floor(k * M / L) + half. Without the end of the stream, stop at
    // the first k whose filter reaches past the samples received so far.
    const end = final
      ? this.outputLength(this.inputCount)
      : Math.max(this.k, Math.ceil(((this.inputCount - half) * this.up) / this.down));
    const out = new Float32Array(end - this.k);
    const taps = 2 * half;
    const scratch = this.table ? null : new Float32Array(taps);
    for (let o = 0; this.k < end; this.k++, o++) {
      const pos = this.k * this.down;
      const n = Math.floor(pos / this.up);
      const phase = pos - n * this.up;
      let h: Float32Array;
      if (this.table) {
        h = this.table.subarray(phase * taps, (phase + 1) * taps);
      } else {
        this.fillTaps(phase / this.up, scratch!);
        h = scratch!;
      }
      const first = n - half + 1 - this.bufStart;
      // Before the first sample and after the last one the signal is zero.
      const j0 = Math.max(0, -first);
      const j1 = Math.min(taps, this.bufLength - first);
      let acc = 0;
      for (let j = j0; j < j1; j++) acc += h[j] * this.buf[first + j];
      out[o] = acc;
    }
    // Drop input that no future output sample can reach.
    const nextN = Math.floor((this.k * this.down) / this.up);
    const keepFrom = Math.max(this.bufStart, nextN - half + 1);
    const drop = Math.min(keepFrom - this.bufStart, this.bufLength);
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.bufLength);
      this.bufLength -= drop;
      this.bufStart += drop;
    }
    return out;
  }
}

/** Whole-buffer conversion; identical to pushing the same samples in any chunking and flushing. */
export function resample(
  input: Float32Array,
  fromRate: number,
  toRate: number = WHISPER_SAMPLE_RATE,
  options?: ResamplerOptions,
): Float32Array {
  const r = new StreamingResampler(fromRate, toRate, options);
  const a = r.push(input);
  const b = r.flush();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Any channel layout and rate to what Whisper takes: 16 kHz mono. */
export function toWhisperInput(channels: readonly Float32Array[], sampleRate: number): Float32Array {
  return resample(downmix(channels), sampleRate, WHISPER_SAMPLE_RATE);
}
