import { describe, expect, it, vi } from 'vitest';
import { Sha256, chunkSha256, sha256Hex } from '../../src/model/model-store-sha256';

async function reference(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('Sha256', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(sha256Hex(new Uint8Array())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('matches crypto.subtle.digest around every padding boundary', async () => {
    for (const n of [1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096 + 7]) {
      const bytes = pseudoRandomBytes(n, n);
      expect(sha256Hex(bytes), `length ${n}`).toBe(await reference(bytes));
    }
  });

  it('gives the same digest however the input is split into updates', async () => {
    const bytes = pseudoRandomBytes(70_001, 42);
    const expected = await reference(bytes);
    for (const piece of [1, 3, 63, 64, 65, 1000, 65_536]) {
      const h = new Sha256();
      for (let o = 0; o < bytes.length; o += piece) h.update(bytes.subarray(o, o + piece));
      expect(h.digestHex(), `pieces of ${piece}`).toBe(expected);
    }
  });

  it('refuses to be used after digest()', () => {
    const h = new Sha256();
    h.digestHex();
    expect(() => h.update(new Uint8Array(1))).toThrow(/after digest/);
    expect(() => h.digestHex()).toThrow(/twice/);
  });
});

describe('chunkSha256', () => {
  it('hashes only the bytes of a view into a larger buffer, with WebCrypto and without it', async () => {
    const big = pseudoRandomBytes(10_000, 9);
    const view = big.subarray(1234, 1234 + 4321);
    const expected = sha256Hex(view.slice());
    expect(await chunkSha256(view)).toBe(expected);
    // An origin without crypto.subtle (plain http on a LAN address) uses the JavaScript hasher.
    vi.stubGlobal('crypto', {});
    try {
      expect(await chunkSha256(view)).toBe(expected);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
