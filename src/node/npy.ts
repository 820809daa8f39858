/**
 * NumPy .npy reader and writer (format versions 1–3, little-endian, C order), enough for latents,
 * goldens and token ids. Pure: bytes in, bytes out, no file system. It lives in src/node/ with its
 * only users (CLI, bench, tests): the app never reads .npy.
 *
 *   const { data, shape } = readNpy(bytes);            // data: Float32Array for '<f4', ...
 *   const bytes = writeNpy(new Float32Array(8), [2, 4]);
 */

export type NpyData =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Int16Array
  | Int8Array
  | Uint32Array;

export interface NpyArray {
  /** NumPy dtype string as written in the header, e.g. "<f4". */
  readonly descr: string;
  readonly shape: number[];
  readonly data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

type Ctor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): NpyData; BYTES_PER_ELEMENT: number };

const DTYPES: Record<string, Ctor> = {
  '<f4': Float32Array,
  '<f8': Float64Array,
  '<i4': Int32Array,
  '<i8': BigInt64Array,
  '<u4': Uint32Array,
  '<u2': Uint16Array,
  '<i2': Int16Array,
  '|u1': Uint8Array,
  '|i1': Int8Array,
  '|b1': Uint8Array,
};

function descrOf(data: NpyData): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Int8Array) return '|i1';
  return '|u1';
}

export class NpyError extends Error {
  override readonly name = 'NpyError';
}

export function readNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new NpyError('not a .npy file (missing the \\x93NUMPY magic)');
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NpyError(`unsupported .npy version ${major}`);
  }
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLen),
  );
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyError(`malformed .npy header: ${header.trim()}`);
  }
  if (fortran === 'True') throw new NpyError('Fortran-order .npy arrays are not supported');
  const ctor = DTYPES[descr];
  if (!ctor) throw new NpyError(`unsupported .npy dtype ${descr} (supported: ${Object.keys(DTYPES).join(', ')})`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  const byteLength = count * ctor.BYTES_PER_ELEMENT;
  if (bytes.length - dataStart < byteLength) {
    throw new NpyError(`truncated .npy: shape (${shape.join(', ')}) needs ${byteLength} bytes, file has ${bytes.length - dataStart}`);
  }
  // Copy so the typed array is aligned and independent of the caller's buffer.
  const copy = bytes.slice(dataStart, dataStart + byteLength);
  return { descr, shape, data: new ctor(copy.buffer, 0, count) };
}

export function writeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new NpyError(`shape (${shape.join(', ')}) has ${count} elements, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Version 1.0: the magic, version and length (10 bytes) plus the header end on a 64-byte boundary.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}
