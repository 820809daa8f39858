/**
 * The response headers that make the app's pages cross-origin isolated (issue 13 item 9).
 *
 * onnxruntime-web's WASM back end runs multi-threaded only with SharedArrayBuffer, which browsers
 * give a page (and its workers) only when `crossOriginIsolated` is true: the document and worker
 * scripts must be served with COOP `same-origin` and a COEP. ORT then picks its own thread count
 * (src/runtime/ort.ts leaves numThreads at its default in browsers).
 *
 * COEP `credentialless` rather than `require-corp`: under require-corp every cross-origin resource
 * must send `Cross-Origin-Resource-Policy` or pass CORS, and a no-cors subresource from a host that
 * sends neither (a CDN, a redirect on the Hugging Face hub's file storage) would be blocked;
 * credentialless instead loads such requests without cookies, which the app never needs. The
 * CORS fetches the app makes (manifests and weights on other hosts, `hf:` links, Whisper from the
 * hub) work the same under both.
 *
 * One definition for the Vite dev server, `vite preview` (vite.config.ts) and the end-to-end
 * tests' static server (test/e2e/static-server.ts), so the tests run under what a deployment sends.
 */
export const CROSS_ORIGIN_ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'credentialless',
};
