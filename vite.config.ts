/// <reference types="vitest/config" />
import { cpSync, createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { CROSS_ORIGIN_ISOLATION_HEADERS } from './src/runtime/isolation-headers.ts';
import { pwaPlugin } from './src/pwa/vite-plugin.ts';

const root = dirname(fileURLToPath(import.meta.url));
const modelsDir = resolve(root, 'models');

const modelMime: Record<string, string> = {
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.data': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The model folder lives at the top level (export script, manifests, tiny test models), not in
 * public/, because full-size weights must never be copied into a build. This serves /models/ from
 * it in `vite` and `vite preview`, and copies only models/tiny into dist/ at build time.
 */
function modelsPlugin(): Plugin {
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const url = req.url ?? '';
    // Vite strips the mount prefix when we mount on '/models'; the rest is the path inside models/.
    const path = decodeURIComponent(url.split('?')[0] ?? '');
    const file = resolve(modelsDir, '.' + path);
    if (!file.startsWith(modelsDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      next();
      return;
    }
    // Our own middleware answers before Vite's, which adds server.headers; send them here too.
    for (const [name, value] of Object.entries(CROSS_ORIGIN_ISOLATION_HEADERS)) res.setHeader(name, value);
    res.setHeader('Content-Type', modelMime[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    createReadStream(file).pipe(res);
  };
  let outDir = resolve(root, 'dist');
  let copyOnBuild = false;
  return {
    name: 'ldm3d-models',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
      // Vitest resolves a build config too (with a throw-away outDir); only a real build copies.
      copyOnBuild = config.command === 'build' && !process.env.VITEST;
    },
    configureServer(server) {
      server.middlewares.use('/models', middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use('/models', middleware);
    },
    closeBundle() {
      const tiny = join(modelsDir, 'tiny');
      if (copyOnBuild && existsSync(tiny)) cpSync(tiny, join(outDir, 'models/tiny'), { recursive: true });
    },
  };
}

// One config for the app, the unit tests (Node) and the end-to-end tests (real Chromium).
export default defineConfig({
  // pwaPlugin: sw.js with the app shell's file list, for installing and starting offline (README).
  plugins: [react(), modelsPlugin(), pwaPlugin()],
  // The app is served as static files; a relative base lets it run from any sub-path.
  base: './',
  // @iwer/devui (the desktop XR emulator's UI) pins three 0.165 while its @pmndrs/* dependencies
  // use ours: two copies meant 0.187 materials drawn by a 0.165 renderer ("material.onBuild is
  // not a function") and a second three in the bundle. One copy for everything.
  resolve: { dedupe: ['three'] },
  // Cross-origin isolation (COOP + COEP) for onnxruntime's multi-threaded WASM; a deployment must
  // send the same headers (README "Deployment headers", src/runtime/isolation-headers.ts).
  server: { headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } },
  preview: { headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  // onnxruntime-web ships its own wasm/mjs loader files; pre-bundling would break their URLs.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  test: {
    // The default output, then the slowest files and each project's total (test/setup/durations-reporter.ts).
    reporters: ['default', './test/setup/durations-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          environment: 'node',
          setupFiles: ['test/setup/node-webgpu.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One Chromium at a time: CI has two cores and SwiftShader is CPU-bound.
          fileParallelism: false,
        },
      },
    ],
  },
});
