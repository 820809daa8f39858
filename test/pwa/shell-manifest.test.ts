// The service worker's precache list and version (src/pwa/vite-plugin.ts): the version must change
// whenever any shell file's bytes or name change — that is what makes browsers install an update —
// and must not depend on the order the bundler happens to list files in.
import { describe, expect, it } from 'vitest';
import { shellManifest } from '../../src/pwa/vite-plugin';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('shellManifest', () => {
  const files = [
    { path: 'assets/b.js', bytes: bytes('b') },
    { path: './', bytes: bytes('<html>') },
    { path: 'assets/a.wasm', bytes: bytes('a') },
  ];

  it('lists every file, sorted, with a stable version', () => {
    const m = shellManifest(files);
    expect(m.precache).toEqual(['./', 'assets/a.wasm', 'assets/b.js']);
    expect(m.version).toMatch(/^[0-9a-f]{16}$/);
    expect(shellManifest([...files].reverse()).version).toBe(m.version);
  });

  it('changes the version when one file changes, in bytes or in name', () => {
    const v = shellManifest(files).version;
    expect(shellManifest([files[0]!, { path: './', bytes: bytes('<html>!') }, files[2]!]).version).not.toBe(v);
    expect(shellManifest([files[0]!, files[1]!, { path: 'assets/c.wasm', bytes: bytes('a') }]).version).not.toBe(v);
    // Path and bytes are delimited: moving a byte from one into the other is a change too.
    expect(shellManifest([{ path: 'ab', bytes: bytes('c') }]).version).not.toBe(shellManifest([{ path: 'a', bytes: bytes('bc') }]).version);
  });
});
