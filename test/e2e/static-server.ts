// A tiny static file server for the end-to-end tests: the built app from dist/ and the model
// folder at /models/, on 127.0.0.1 (a secure context, so WebGPU and WebXR exist in Chromium).
// Every response carries the cross-origin isolation headers a deployment sends (as `vite` and
// `vite preview` do), so the tests run the app as it is deployed: isolated, WASM with threads.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { CROSS_ORIGIN_ISOLATION_HEADERS } from '../../src/runtime/isolation-headers';

export const mimeTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.glsl': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.data': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
};

/** Maps a URL path to a file under one of the mounts, or null (never escapes a mount's folder). */
export function resolveFile(mounts: ReadonlyArray<readonly [string, string]>, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0] ?? '/');
  } catch {
    return null;
  }
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    let rest = path.slice(prefix.length);
    if (rest === '' || rest.endsWith('/')) rest += 'index.html';
    const root = resolve(dir);
    const file = resolve(root, '.' + (rest.startsWith('/') ? rest : '/' + rest));
    if (file !== root && !file.startsWith(root + sep)) return null;
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  return null;
}

export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `mounts` (URL prefix → folder, first match wins) on 127.0.0.1 at a free port, with the
 * cross-origin isolation headers unless `isolated` is false (bench/wasm-threads.ts compares both).
 */
export async function startStaticServer(mounts: ReadonlyArray<readonly [string, string]>, isolated = true): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const file = resolveFile(mounts, req.url ?? '/');
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      ...(isolated ? CROSS_ORIGIN_ISOLATION_HEADERS : {}),
      'Content-Type': mimeTypes[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(statSync(file).size),
      'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
