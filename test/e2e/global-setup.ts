// Global setup of the "e2e" vitest project: make sure dist/ holds a build of the current sources,
// serve it on 127.0.0.1 and hand the URL to the tests through provide/inject.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startStaticServer } from './static-server';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

const root = resolve(import.meta.dirname, '../..');
const dist = join(root, 'dist');

/** Newest modification time of any file below `path` (a file or a folder). */
function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/**
 * True when dist/ is missing or older than what it is built from. `npm test` builds before the
 * end-to-end tests, but a developer running `vitest --project e2e` by hand must not test a stale
 * build without noticing.
 */
function buildIsStale(): boolean {
  const built = join(dist, 'index.html');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const inputs = ['src', 'shaders', 'public', 'index.html', 'vite.config.ts', 'package-lock.json'];
  return inputs.some((p) => newestMtime(join(root, p)) > builtAt);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (buildIsStale()) {
    console.log('[e2e] dist/ is missing or stale: running vite build');
    const r = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build'], {
      cwd: root,
      stdio: 'inherit',
      // Vitest sets NODE_ENV=test, which Vite's build would inherit: a development build (React's
      // dev runtime, import.meta.env.PROD false), not the one `npm run build` deploys and tests.
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (r.status !== 0) throw new Error(`vite build failed with status ${r.status}`);
  }
  // /models/ comes straight from the top-level folder so tests see the current tiny models even
  // when they were exported after the last build (the build copies only models/tiny anyway).
  const server = await startStaticServer([
    ['/models/', join(root, 'models')],
    ['/', dist],
  ]);
  project.provide('baseUrl', server.url);
  return () => server.close();
}
