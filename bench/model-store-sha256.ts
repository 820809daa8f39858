/**
 * Throughput of the model store's incremental SHA-256 against the native crypto.subtle.digest
 * (which needs the whole file in one buffer). Run: npx tsx bench/model-store-sha256.ts [MiB]
 */
import { Sha256 } from '../src/model/model-store-sha256';

const mib = Number(process.argv[2] ?? 256);
const data = new Uint8Array(mib * 1024 * 1024);
for (let i = 0; i < data.length; i += 4096) data[i] = (i * 2654435761) >>> 24;
const piece = 64 * 1024; // what a network stream typically yields

function time(label: string, fn: () => Promise<string> | string): Promise<void> {
  return (async () => {
    await fn(); // warm-up
    const t0 = performance.now();
    const digest = await fn();
    const s = (performance.now() - t0) / 1000;
    console.log(`${label.padEnd(44)} ${(mib / s).toFixed(0).padStart(6)} MiB/s  (${digest.slice(0, 16)}…)`);
  })();
}

await time(`Sha256 (this repo), ${piece / 1024} KiB updates`, () => {
  const h = new Sha256();
  for (let o = 0; o < data.length; o += piece) h.update(data.subarray(o, o + piece));
  return h.digestHex();
});
await time('crypto.subtle.digest (native, one buffer)', async () => {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
});
console.log(`${mib} MiB, Node ${process.version}`);
