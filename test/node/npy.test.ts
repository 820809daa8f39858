import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { NpyError, readNpy, writeNpy } from '../../src/node/npy';

describe('.npy', () => {
  it('round-trips float32, int64 and uint16 arrays with their shapes', () => {
    const f = Float32Array.from({ length: 24 }, (_, i) => i / 3);
    const back = readNpy(writeNpy(f, [1, 2, 3, 4]));
    expect(back.descr).toBe('<f4');
    expect(back.shape).toEqual([1, 2, 3, 4]);
    expect(back.data).toEqual(f);
    const ids = readNpy(writeNpy(BigInt64Array.from([1n, 49407n]), [2]));
    expect(ids.shape).toEqual([2]);
    expect(Array.from(ids.data as BigInt64Array)).toEqual([1n, 49407n]);
    expect(readNpy(writeNpy(new Uint16Array([65535]), [1, 1])).data).toEqual(new Uint16Array([65535]));
  });

  it('writes a header numpy accepts: 64-byte aligned, version 1.0, newline-terminated', () => {
    const bytes = writeNpy(new Float32Array(3), [3]);
    const headerLen = bytes[8] | (bytes[9] << 8);
    expect((10 + headerLen) % 64).toBe(0);
    expect(bytes[10 + headerLen - 1]).toBe(0x0a);
    expect(new TextDecoder().decode(bytes.subarray(10, 10 + headerLen))).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \}/);
  });

  it('reads the goldens numpy wrote', () => {
    const a = readNpy(new Uint8Array(readFileSync(new URL('../fixtures/goldens/ldm3d-pano/ddim-1-step.latents.npy', import.meta.url))));
    expect(a.shape).toEqual([1, 4, 8, 16]);
    expect(a.data).toBeInstanceOf(Float32Array);
  });

  it('explains what is wrong with a bad file', () => {
    expect(() => readNpy(new Uint8Array([1, 2, 3]))).toThrow(NpyError);
    const good = writeNpy(new Float32Array(8), [8]);
    expect(() => readNpy(good.subarray(0, good.length - 4))).toThrow(/truncated \.npy/);
    const fortran = good.slice();
    const at = new TextDecoder('latin1').decode(fortran).indexOf('False');
    fortran.set(new TextEncoder().encode('True '), at);
    expect(() => readNpy(fortran)).toThrow(/Fortran/);
    expect(() => writeNpy(new Float32Array(3), [2, 2])).toThrow(/4 elements/);
  });
});
