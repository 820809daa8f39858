/**
 * Draws the app's install icons (public/icons/icon-192.png and icon-512.png, referenced by
 * public/manifest.webmanifest): a panorama sphere — dusk sky over dark ground, with a few
 * meridians and parallels — on a full-bleed background.
 *
 *   npx tsx scripts/make-icons.ts
 *
 * Drawn in code rather than exported from a drawing program so the icons can be regenerated at any
 * size from the repository alone. The sphere stays inside the central 80 % circle, the "safe zone"
 * of a maskable icon, so launchers that crop icons to a circle or squircle (Android, the Quest's
 * library) cut only background.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encode } from 'fast-png';

type Rgb = readonly [number, number, number];

const BACKGROUND: Rgb = [16, 20, 26];
const SKY_TOP: Rgb = [32, 70, 150];
const SKY_HORIZON: Rgb = [240, 150, 80];
const GROUND_NEAR: Rgb = [40, 46, 40];
const GROUND_FAR: Rgb = [90, 80, 70];
const GRID: Rgb = [235, 240, 250];

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Colour at (x, y) in [-1, 1]² (y down). */
function shade(x: number, y: number): Rgb {
  const r2 = x * x + y * y;
  const R = 0.78; // sphere radius, inside the maskable safe zone (0.8)
  if (r2 > R * R) return BACKGROUND;
  // Point on the unit sphere seen head-on, the horizon slightly below the middle.
  const sx = x / R;
  const sy = y / R;
  const sz = Math.sqrt(Math.max(0, 1 - sx * sx - sy * sy));
  const lat = -Math.asin(sy); // +up
  const lon = Math.atan2(sx, sz);
  const horizon = -0.12;
  let c: Rgb =
    lat > horizon
      ? mix(SKY_HORIZON, SKY_TOP, Math.min(1, (lat - horizon) / 1.2) ** 0.7)
      : mix(GROUND_FAR, GROUND_NEAR, Math.min(1, (horizon - lat) / 1.0));
  // Meridians every 30° and parallels every 30°, thin, faded towards the limb.
  const lineWidth = 0.018;
  const dLon = Math.abs(((lon / (Math.PI / 6)) % 1 + 1.5) % 1 - 0.5) * (Math.PI / 6) * Math.cos(lat);
  const dLat = Math.abs(((lat / (Math.PI / 6)) % 1 + 1.5) % 1 - 0.5) * (Math.PI / 6);
  if (Math.min(dLon, dLat) < lineWidth) c = mix(c, GRID, 0.4 * sz);
  // Soft limb darkening so the disc reads as a sphere.
  return mix(c, BACKGROUND, (1 - sz) ** 3 * 0.6);
}

function drawIcon(size: number): Uint8Array {
  const ss = 4; // supersampling per axis: smooth edges without a rasteriser
  const data = new Uint8Array(size * size * 3);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < ss; j++) {
        for (let i = 0; i < ss; i++) {
          const x = ((px + (i + 0.5) / ss) / size) * 2 - 1;
          const y = ((py + (j + 0.5) / ss) / size) * 2 - 1;
          const c = shade(x, y);
          r += c[0];
          g += c[1];
          b += c[2];
        }
      }
      const o = (py * size + px) * 3;
      data[o] = Math.round(r / (ss * ss));
      data[o + 1] = Math.round(g / (ss * ss));
      data[o + 2] = Math.round(b / (ss * ss));
    }
  }
  return encode({ width: size, height: size, data, channels: 3, depth: 8 });
}

const out = resolve(import.meta.dirname, '../public/icons');
mkdirSync(out, { recursive: true });
for (const size of [192, 512]) {
  const file = join(out, `icon-${size}.png`);
  writeFileSync(file, drawIcon(size));
  console.log(file);
}
