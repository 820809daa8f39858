/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// One config for the app, the unit tests (Node) and the end-to-end tests (real Chromium).
export default defineConfig({
  plugins: [react()],
  // The app is served as static files; a relative base lets it run from any sub-path.
  base: './',
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  // onnxruntime-web ships its own wasm/mjs loader files; pre-bundling would break their URLs.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  test: {
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
