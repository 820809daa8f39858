/**
 * The service worker (issue 14 item 16): after one online visit the app opens with no network.
 *
 * It caches the app shell and nothing else: the page, the hashed scripts, styles, worker scripts
 * and onnxruntime's .wasm that `vite build` emitted, and public/ (manifest, icons, XR input
 * profiles). The build writes that list and a version into this file (src/pwa/vite-plugin.ts
 * prepends `PRECACHE` and `VERSION`); `npm run dev` has no service worker at all.
 *
 * Model files are never touched: the model store (src/model/model-store*.ts) keeps them in its
 * own Cache API entries, downloads them with Range requests to resume, and opens a stored manifest
 * when the network is unreachable. So every request this worker does not own — models/, other
 * origins (model hosts, the Hugging Face hub), anything not in the list — is left to the browser
 * (no respondWith), exactly as without a service worker.
 *
 * Versions: one cache per build (`ldm3d-xr-shell-<VERSION>`). A new build changes sw.js, the
 * browser installs it in the background and it waits (no skipWaiting) until no page of the app is
 * open, so a running page never has the files of its own version deleted under it (its lazily
 * loaded chunks — the pipeline worker, onnxruntime's wasm — would then 404). When it activates it
 * deletes the other versions' caches: the next start runs the new version.
 *
 * Responses are stored whole, headers included, so a page served from the cache keeps the COOP /
 * COEP headers (src/runtime/isolation-headers.ts) and stays cross-origin isolated offline.
 */
declare const self: ServiceWorkerGlobalScope;
/** Paths relative to this script, written by the build. './' is the page itself. */
declare const PRECACHE: readonly string[];
/** A hash of everything in PRECACHE, written by the build. */
declare const VERSION: string;

const CACHE_PREFIX = 'ldm3d-xr-shell-';
const CACHE = CACHE_PREFIX + VERSION;
const PAGE = new URL('./', self.location.href).href;
/** Shell URLs without query; a request is ours when its URL minus the query is one of them. */
const SHELL = new Set(PRECACHE.map((p) => new URL(p, self.location.href).href));

self.addEventListener('install', (event) => {
  // cache: 'reload' skips the HTTP cache, so a new version never stores a stale copy. addAll is
  // all or nothing: a failed file fails the install and the previous version stays in charge.
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll([...SHELL].map((url) => new Request(url, { cache: 'reload' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
      }
      // Take the page that installed us, so its own later requests (the pipeline worker, the wasm)
      // are cached-first already in the first visit. Safe: activation happens only when no page of
      // another version is open.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  // A Range request wants part of a file; the cache holds whole responses. Only model files are
  // asked for in ranges (resumed downloads), and those are not ours anyway.
  if (request.method !== 'GET' || request.headers.has('range')) return;
  const url = new URL(request.url);
  url.search = '';
  url.hash = '';
  // The page under any query (?model=, ?preset=, …): the app has one page, and its query is read by
  // the app, not the server.
  let key: string | null = null;
  if (request.mode === 'navigate' && (url.href === PAGE || url.href === PAGE + 'index.html')) key = PAGE;
  else if (SHELL.has(url.href)) key = url.href;
  if (key === null) return; // models, other origins, anything unknown: the network, untouched
  const shellKey = key;
  event.respondWith(
    (async () => {
      const cached = await caches.open(CACHE).then((c) => c.match(shellKey));
      // A miss (storage evicted, install still running) falls back to the network.
      return cached ?? fetch(request);
    })(),
  );
});

export {};
