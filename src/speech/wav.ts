/**
 * A small RIFF/WAVE reader: PCM 8/16/24/32-bit integer and 32/64-bit float, plain or
 * WAVE_FORMAT_EXTENSIBLE. The fixtures and any WAV a user imports go through it; it returns one
 * Float32Array per channel in [-1, 1) so the resampler and VAD never see a byte layout.
 */

export interface WavAudio {
  sampleRate: number;
  /** One array per channel, de-interleaved, samples in [-1, 1). */
  channels: Float32Array[];
}

export class WavFormatError extends Error {
  override name = 'WavFormatError';
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

function fourcc(view: DataView, offset: number): string {
  return String.fromCharCode(
    view.getUint8(offset),
    view.getUint8(offset + 1),
    view.getUint8(offset + 2),
    view.getUint8(offset + 3),
  );
}

export function parseWav(input: ArrayBufferLike | ArrayBufferView): WavAudio {
  const view = ArrayBuffer.isView(input)
    ? new DataView(input.buffer, input.byteOffset, input.byteLength)
    : new DataView(input);
  if (view.byteLength < 12 || fourcc(view, 0) !== 'RIFF' || fourcc(view, 8) !== 'WAVE') {
    throw new WavFormatError('Not a WAV file: the RIFF/WAVE header is missing.');
  }

  let format: { tag: number; channels: number; sampleRate: number; bits: number } | null = null;
  let data: { offset: number; length: number } | null = null;
  let offset = 12;
  while (offset + 8 <= view.byteLength) {
    const id = fourcc(view, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16) throw new WavFormatError(`WAV "fmt " chunk is too short (${size} bytes).`);
      let tag = view.getUint16(body, true);
      const bits = view.getUint16(body + 14, true);
      if (tag === WAVE_FORMAT_EXTENSIBLE) {
        if (size < 40) throw new WavFormatError('WAVE_FORMAT_EXTENSIBLE header is truncated.');
        // The real format is the first two bytes of the SubFormat GUID.
        tag = view.getUint16(body + 24, true);
      }
      format = {
        tag,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits,
      };
    } else if (id === 'data') {
      // Streaming writers leave 0 or 0xFFFFFFFF as the size; take what is there.
      const length = size === 0 || size === 0xffffffff ? view.byteLength - body : size;
      data = { offset: body, length: Math.min(length, view.byteLength - body) };
    }
    // Chunks are padded to an even size.
    offset = body + size + (size & 1);
    if (data && format) break;
  }
  if (!format) throw new WavFormatError('WAV file has no "fmt " chunk.');
  if (!data) throw new WavFormatError('WAV file has no "data" chunk.');
  const { tag, channels, sampleRate, bits } = format;
  if (channels < 1) throw new WavFormatError('WAV file declares zero channels.');
  if (!(sampleRate > 0)) throw new WavFormatError('WAV file declares a sample rate of zero.');

  const bytesPerSample = bits / 8;
  const readers: Record<string, (o: number) => number> = {
    [`${WAVE_FORMAT_PCM}:8`]: (o) => (view.getUint8(o) - 128) / 128,
    [`${WAVE_FORMAT_PCM}:16`]: (o) => view.getInt16(o, true) / 32768,
    [`${WAVE_FORMAT_PCM}:24`]: (o) =>
      ((view.getUint8(o) | (view.getUint8(o + 1) << 8) | (view.getInt8(o + 2) << 16)) as number) /
      8388608,
    [`${WAVE_FORMAT_PCM}:32`]: (o) => view.getInt32(o, true) / 2147483648,
    [`${WAVE_FORMAT_IEEE_FLOAT}:32`]: (o) => view.getFloat32(o, true),
    [`${WAVE_FORMAT_IEEE_FLOAT}:64`]: (o) => view.getFloat64(o, true),
  };
  const read = readers[`${tag}:${bits}`];
  if (!read) {
    throw new WavFormatError(
      `Unsupported WAV encoding (format tag ${tag}, ${bits} bits); expected PCM 8/16/24/32-bit or float 32/64-bit.`,
    );
  }
  const frameBytes = bytesPerSample * channels;
  const frames = Math.floor(data.length / frameBytes);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let i = 0, o = data.offset; i < frames; i++) {
    for (let c = 0; c < channels; c++, o += bytesPerSample) out[c][i] = read(o);
  }
  return { sampleRate, channels: out };
}

/** 16-bit PCM WAV of mono samples (what the microphone heard, for a bug report or a new fixture). */
export function encodeWav16(samples: Float32Array, sampleRate: number): Uint8Array {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const text = (o: number, s: string) => {
    for (let i = 0; i < 4; i++) view.setUint8(o + i, s.charCodeAt(i));
  };
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, WAVE_FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    // The same scale as parseWav (1/32768), so 16-bit audio survives a round trip bit-exactly.
    view.setInt16(44 + i * 2, Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768))), true);
  }
  return bytes;
}
