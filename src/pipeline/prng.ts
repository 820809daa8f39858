/**
 * The seeded noise generator: the same seed gives the same initial latents on every back end and
 * every machine (diffusers' torch.randn stream cannot be reproduced in JS, and does not need to be:
 * parity with diffusers is tested by injecting latents).
 *
 * Algorithm (written down so that any implementation can reproduce it):
 * - Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
 *   counter-based generator of Random123 and of cuRAND. Key = the seed as a 64-bit unsigned integer
 *   (k0 = low 32 bits, k1 = high 32 bits). Counter for block b = (b mod 2^32, floor(b / 2^32), 0, 0).
 * - Each block gives four 32-bit words (w0, w1, w2, w3) → two uniforms with 53 bits each:
 *   u1 = (w0 · 2^21 + (w1 >>> 11)) / 2^53 and u2 = (w2 · 2^21 + (w3 >>> 11)) / 2^53, in [0, 1).
 * - Box–Muller in float64: r = √(−2 ln(1 − u1)), θ = 2π·u2; normal 2b = r·cos θ and
 *   normal 2b+1 = r·sin θ, each rounded to float32.
 * - Normal i fills element i of the latent tensor in C order ([1, C, h, w]).
 * Being counter-based, element i can be computed independently (a GPU kernel could do the same).
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_32 = 4294967296;

/** High and low 32 bits of a 32×32-bit product, exact in float64 arithmetic. */
function mulhilo(a: number, b: number, out: Uint32Array, hiIndex: number, loIndex: number): void {
  const ah = a >>> 16;
  const al = a & 0xffff;
  const p1 = ah * b; // < 2^48, exact
  const p0 = al * b; // < 2^48, exact
  const p1hi = Math.floor(p1 / 65536);
  const t = (p1 % 65536) * 65536 + p0; // < 2^49, exact
  out[hiIndex] = (p1hi + Math.floor(t / TWO_32)) >>> 0;
  out[loIndex] = t % TWO_32;
}

/** Philox4x32 with 10 rounds; returns the 4 output words in `out`. */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>, out = new Uint32Array(4)): Uint32Array {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  const p = new Uint32Array(4);
  for (let round = 0; round < 10; round++) {
    mulhilo(M0, c0, p, 0, 1); // p[0] = hi0, p[1] = lo0
    mulhilo(M1, c2, p, 2, 3); // p[2] = hi1, p[3] = lo1
    const n0 = (p[2] ^ c1 ^ k0) >>> 0;
    const n1 = p[3];
    const n2 = (p[0] ^ c3 ^ k1) >>> 0;
    const n3 = p[1];
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** Splits a seed (a non-negative safe integer or a bigint below 2^64) into the Philox key. */
export function seedKey(seed: number | bigint): [number, number] {
  let s: bigint;
  if (typeof seed === 'bigint') s = seed;
  else {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
    s = BigInt(seed);
  }
  if (s < 0n || s >= 1n << 64n) throw new RangeError(`seed must be below 2^64, got ${s}`);
  return [Number(s & 0xffffffffn), Number(s >> 32n)];
}

/** `count` standard normals for `seed`, in float32, as specified above. */
export function randomNormals(seed: number | bigint, count: number): Float32Array {
  const key = seedKey(seed);
  const out = new Float32Array(count);
  const words = new Uint32Array(4);
  const ctr = [0, 0, 0, 0];
  for (let b = 0; 2 * b < count; b++) {
    ctr[0] = b % TWO_32;
    ctr[1] = Math.floor(b / TWO_32);
    philox4x32(ctr, key, words);
    const u1 = (words[0] * 2097152 + (words[1] >>> 11)) / 9007199254740992;
    const u2 = (words[2] * 2097152 + (words[3] >>> 11)) / 9007199254740992;
    const r = Math.sqrt(-2 * Math.log(1 - u1));
    const theta = 2 * Math.PI * u2;
    out[2 * b] = r * Math.cos(theta);
    if (2 * b + 1 < count) out[2 * b + 1] = r * Math.sin(theta);
  }
  return out;
}
