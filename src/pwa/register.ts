/** sw.js's name, defined by src/pwa/vite-plugin.ts in `vite build` only; undeclared in `npm run dev`. */
declare const __LDM3D_SERVICE_WORKER__: string | undefined;

/**
 * Registers the service worker (src/pwa/service-worker.ts, built to sw.js) in builds.
 *
 * Not in `npm run dev`: there is no sw.js there (only `vite build` writes it), and a worker serving
 * cached files would hide every edit behind the previous version. Not where the browser has no
 * service workers (an http:// address other than localhost is not a secure context): the app
 * works as before, online only.
 */
export function registerServiceWorker(): void {
  // typeof: the name is not defined at all in the dev server.
  if (typeof __LDM3D_SERVICE_WORKER__ !== 'string' || !('serviceWorker' in navigator)) return;
  const script = './' + __LDM3D_SERVICE_WORKER__;
  const register = (): void => {
    // Relative to the page, like every URL of the app (base './'), so it works from a sub-path;
    // its scope is then the app's folder.
    navigator.serviceWorker.register(script).catch((e: unknown) => {
      // Installing is an extra; the app runs without it. A warning, not an error: nothing is broken.
      console.warn('The app could not be made available offline:', e);
    });
  };
  // After the page's own load: the precache download (~35 MB, onnxruntime's wasm most of it) must
  // not compete with the first start.
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, { once: true });
}
