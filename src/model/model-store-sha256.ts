/**
 * Incremental SHA-256 (FIPS 180-4) for the model store.
 *
 * Why not crypto.subtle.digest: it has no incremental API, so checking a 3.4 GB UNet weight file
 * with it would need the whole file in one buffer next to the copy the pipeline later reads. This
 * hasher is fed the bytes as they stream in from the network (and, on resume, from storage), so a
 * download never holds more than one storage chunk. test/model/model-store-sha256.test.ts checks
 * it against crypto.subtle.digest; bench/model-store-sha256.ts prints its throughput.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

export class Sha256 {
  private readonly h = new Int32Array(INITIAL);
  private readonly w = new Int32Array(64);
  /** Bytes of an unfinished 64-byte block carried over between update() calls. */
  private readonly pending = new Uint8Array(64);
  private pendingLength = 0;
  private totalBytes = 0;
  private finished = false;

  update(data: Uint8Array): this {
    if (this.finished) throw new Error('Sha256: update() after digest()');
    this.totalBytes += data.length;
    let offset = 0;
    if (this.pendingLength > 0) {
      const take = Math.min(64 - this.pendingLength, data.length);
      this.pending.set(data.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < 64) return this;
      this.compress(this.pending, 0, 64);
      this.pendingLength = 0;
    }
    const whole = offset + Math.floor((data.length - offset) / 64) * 64;
    if (whole > offset) this.compress(data, offset, whole);
    offset = whole;
    if (offset < data.length) {
      this.pending.set(data.subarray(offset), 0);
      this.pendingLength = data.length - offset;
    }
    return this;
  }

  /** Lower-case hex digest, the form manifest.json stores. */
  digestHex(): string {
    if (this.finished) throw new Error('Sha256: digest() called twice');
    this.finished = true;
    const bits = this.totalBytes * 8;
    const tail = new Uint8Array(this.pendingLength + 9 <= 64 ? 64 : 128);
    tail.set(this.pending.subarray(0, this.pendingLength));
    tail[this.pendingLength] = 0x80;
    // Bit length as a 64-bit big-endian integer; files stay far below 2^53 bits.
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 0x1_0000_0000));
    view.setUint32(tail.length - 4, bits >>> 0);
    this.compress(tail, 0, tail.length);
    let hex = '';
    for (let i = 0; i < 8; i++) hex += (this.h[i] >>> 0).toString(16).padStart(8, '0');
    return hex;
  }

  /** Compresses the 64-byte blocks of d[start, end) into the state (end − start is a multiple of 64). */
  private compress(d: Uint8Array, start: number, end: number): void {
    const w = this.w;
    const h = this.h;
    // The state lives in locals across all blocks of the call: typed-array stores per block
    // were the main cost when each block was its own call.
    let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
    for (let o = start; o < end; o += 64) {
      for (let i = 0, j = o; i < 16; i++, j += 4) {
        w[i] = (d[j] << 24) | (d[j + 1] << 16) | (d[j + 2] << 8) | d[j + 3];
      }
      for (let i = 16; i < 64; i++) {
        const a = w[i - 15];
        const b = w[i - 2];
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      let a = h0, b = h1, c = h2, dd = h3, e = h4, f = h5, g = h6, hh = h7;
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const ch = (e & f) ^ (~e & g);
        const t1 = (hh + S1 + ch + K[i] + w[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const maj = (a & b) ^ (a & c) ^ (b & c);
        hh = g;
        g = f;
        f = e;
        e = (dd + t1) | 0;
        dd = c;
        c = b;
        b = a;
        a = (t1 + S0 + maj) | 0;
      }
      h0 = (h0 + a) | 0;
      h1 = (h1 + b) | 0;
      h2 = (h2 + c) | 0;
      h3 = (h3 + dd) | 0;
      h4 = (h4 + e) | 0;
      h5 = (h5 + f) | 0;
      h6 = (h6 + g) | 0;
      h7 = (h7 + hh) | 0;
    }
    h[0] = h0;
    h[1] = h1;
    h[2] = h2;
    h[3] = h3;
    h[4] = h4;
    h[5] = h5;
    h[6] = h6;
    h[7] = h7;
  }
}

export function sha256Hex(data: Uint8Array): string {
  return new Sha256().update(data).digestHex();
}

/**
 * sha256 of one stored chunk (at most a storage chunk, 16 MiB by default), for the per-chunk
 * digests the model store records and checks on read-back. WebCrypto's digest where there is
 * one: native speed (several times this file's hasher) and, in browsers, computed off the
 * JavaScript thread, so checking chunk i overlaps reading chunk i + 1. Origins without
 * crypto.subtle (plain http on a LAN address) fall back to the hasher above.
 */
export async function chunkSha256(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (!subtle) return sha256Hex(bytes);
  // digest() copies its input when called (WebCrypto "get a copy of the bytes"), so the caller
  // may reuse or overwrite `bytes` as soon as this returns its promise.
  const d = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of d) hex += b.toString(16).padStart(2, '0');
  return hex;
}
