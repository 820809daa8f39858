// The app bundle (main.tsx, its workers and the service worker) must import no Node module: Node-only
// helpers live in src/node/, which nothing in that tree may reach.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const ENTRIES = ['src/main.tsx', 'src/pwa/service-worker.ts'];
// Static and dynamic imports, re-exports, and Vite's worker form `new URL('./x.worker.ts', import.meta.url)`.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)['"]([^'"]+)['"]/g;
const NODE_ONLY_PACKAGES = new Set(['webgpu']);

function resolveLocal(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && /\.tsx?$/.test(candidate)) return candidate;
  }
  return undefined;
}

/** Every file reachable from the entries, with the bare specifiers each imports. */
function browserTree(): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const queue = ENTRIES.map((e) => join(ROOT, e));
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    const bare: string[] = [];
    seen.set(file, bare);
    const code = readFileSync(file, 'utf8').replace(/^\s*(\/\/.*|\*.*|\/\*.*)$/gm, '');
    for (const [, spec] of code.matchAll(SPECIFIER)) {
      if (spec.startsWith('.')) {
        const local = resolveLocal(file, spec);
        if (local) queue.push(local);
      } else {
        bare.push(spec);
      }
    }
  }
  return seen;
}

describe('browser tree', () => {
  it('imports no Node module and nothing from src/node/', () => {
    const tree = browserTree();
    expect(tree.size).toBeGreaterThan(50); // the walk found the app, not just the entries
    const offending: string[] = [];
    for (const [file, bare] of tree) {
      const name = relative(ROOT, file);
      if (name.startsWith('src/node/')) offending.push(name);
      for (const spec of bare) {
        const pkg = spec.replace(/^node:/, '').split('/')[0] as string;
        if (spec.startsWith('node:') || builtinModules.includes(pkg) || NODE_ONLY_PACKAGES.has(pkg)) {
          offending.push(`${name} → ${spec}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });
});
