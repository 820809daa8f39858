// Shaders are imported as strings with Vite's `?raw` (vite/client declares `*?raw`); this covers
// tools that see `.glsl` imports without the suffix.
declare module '*.glsl' {
  const source: string;
  export default source;
}
