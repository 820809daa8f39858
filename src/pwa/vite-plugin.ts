/**
 * Build-time half of the service worker (issue 14 item 16): writes dist/sw.js from
 * src/pwa/service-worker.ts with the app shell's file list and a version prepended.
 *
 * The list comes from the build output itself — every file `vite build` emits (hashed chunks,
 * worker scripts, onnxruntime's .wasm, CSS, index.html as './') plus public/ — so a new chunk or a
 * renamed asset can never be forgotten in a hand-kept list. models/ is not in it: the model store
 * owns model files (src/pwa/service-worker.ts says why), and ldm3d-models copies models/tiny into
 * dist/ only after the bundle is written anyway.
 *
 * VERSION is a hash of every listed file's path and bytes: any change to the app gives sw.js new
 * bytes, which is what makes the browser install the new version. Only `vite build` runs this
 * (apply: 'build'); the dev server neither emits nor registers a service worker.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformWithOxc, type Plugin } from 'vite';

export const SERVICE_WORKER_FILE = 'sw.js';

/**
 * A file above this stays out of the precache (with a build warning) and is fetched from the
 * network as before. The shell's largest file is onnxruntime's wasm (~27 MB), which generation
 * needs offline; anything much larger would be a model or data file that slipped into the build.
 */
export const MAX_SHELL_FILE_BYTES = 48 * 1024 * 1024;

// import.meta.url, which Vite's config loader rewrites to this file's own URL when it bundles the config.
const SOURCE = fileURLToPath(new URL('./service-worker.ts', import.meta.url));

interface ShellFile {
  /** Relative to dist/ (and so to sw.js); './' for the page. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Every file below `dir`, paths relative to it with '/' separators. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** The precache list and version for a set of output files (sorted, so the version is stable). */
export function shellManifest(files: readonly ShellFile[]): { precache: string[]; version: string } {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hash = createHash('sha256');
  for (const f of sorted) {
    hash.update(f.path);
    hash.update('\0');
    hash.update(f.bytes);
    hash.update('\0');
  }
  return { precache: sorted.map((f) => f.path), version: hash.digest('hex').slice(0, 16) };
}

export function pwaPlugin(): Plugin {
  let publicDir = '';
  return {
    name: 'ldm3d-pwa',
    apply: 'build',
    // Tells src/pwa/register.ts that this build has a sw.js. Not import.meta.env.PROD: that follows
    // NODE_ENV, not the command, and a build run with NODE_ENV=test would then have a sw.js that
    // the page never registers.
    config() {
      return { define: { __LDM3D_SERVICE_WORKER__: JSON.stringify(SERVICE_WORKER_FILE) } };
    },
    configResolved(config) {
      publicDir = config.build.copyPublicDir ? config.publicDir : '';
    },
    generateBundle: {
      // After Vite's own generateBundle hooks: index.html is added to the bundle there.
      order: 'post',
      async handler(_options, bundle) {
        const encoder = new TextEncoder();
        const candidates: ShellFile[] = [];
        for (const [fileName, out] of Object.entries(bundle)) {
          if (fileName.endsWith('.map') || fileName === SERVICE_WORKER_FILE) continue;
          const source = out.type === 'chunk' ? out.code : out.source;
          const bytes = typeof source === 'string' ? encoder.encode(source) : source;
          candidates.push({ path: fileName === 'index.html' ? './' : fileName, bytes });
        }
        if (publicDir) {
          for (const path of listFiles(publicDir)) candidates.push({ path, bytes: readFileSync(join(publicDir, path)) });
        }
        const files = candidates.filter((f) => {
          if (f.bytes.length <= MAX_SHELL_FILE_BYTES) return true;
          this.warn(`${f.path} (${(f.bytes.length / 2 ** 20).toFixed(0)} MiB) is left out of the offline app shell: over ${MAX_SHELL_FILE_BYTES / 2 ** 20} MiB`);
          return false;
        });
        const { precache, version } = shellManifest(files);
        const compiled = await transformWithOxc(readFileSync(SOURCE, 'utf8'), SOURCE);
        // A classic script (registered without type: 'module', which older browsers lack): drop the
        // `export {}` that only made the TypeScript source a module.
        const body = compiled.code.replace(/^export\s*\{\s*\};?\s*$/m, '');
        if (/^\s*(import|export)\b/m.test(body)) throw new Error(`${SOURCE} must not import or export anything: sw.js is a classic script`);
        const prelude =
          `// Generated by vite build from src/pwa/service-worker.ts (src/pwa/vite-plugin.ts).\n` +
          `const VERSION = ${JSON.stringify(version)};\nconst PRECACHE = ${JSON.stringify(precache, null, 1)};\n`;
        if (!precache.includes('./')) this.error('index.html is missing from the bundle: the offline app shell would have no page');
        this.emitFile({ type: 'asset', fileName: SERVICE_WORKER_FILE, source: prelude + body });
      },
    },
  };
}
