/** Shared by pano/memory-policy.test.ts (WASM) and pano/memory-policy.webgpu.test.ts. */
import { expect, vi } from 'vitest';
import { OrtRuntime, OrtSession } from '../../src/runtime/ort';
import type { GenerateOptions, GenerateResult, Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { loadCases, loadNpy, maxAbsDiff } from './goldens';
import { TOLERANCE } from './parity';

export interface SessionSpy {
  /** Labels of the sessions created (text_encoder, unet, vae_decoder), in order. */
  readonly created: string[];
  /** Labels of the sessions released, each session counted once. */
  readonly released: string[];
  /** Sessions alive right now (created since the spy was set up), by label; only `runtime`'s if given. */
  live(runtime?: OrtRuntime): string[];
  clear(): void;
}

/** The runtime a pipeline owns (private; reached for in tests to tell its sessions from others'). */
export function runtimeOf(p: Ldm3dPipeline): OrtRuntime {
  return (p as unknown as { runtime: OrtRuntime }).runtime;
}

/** Counts session creations and releases by wrapping the runtime's own methods (they still run). */
export function spyOnSessions(): SessionSpy {
  const created: string[] = [];
  const released: string[] = [];
  const alive = new Map<OrtSession, OrtRuntime>();
  const create = OrtRuntime.prototype.createSession;
  const release = OrtSession.prototype.release;
  vi.spyOn(OrtRuntime.prototype, 'createSession').mockImplementation(async function (this: OrtRuntime, init) {
    const s = await create.call(this, init);
    created.push(init.label);
    alive.set(s, this);
    return s;
  });
  vi.spyOn(OrtSession.prototype, 'release').mockImplementation(function (this: OrtSession) {
    if (alive.delete(this)) released.push(this.label);
    return release.call(this);
  });
  return {
    created,
    released,
    live: (runtime) => [...alive].filter(([, rt]) => !runtime || rt === runtime).map(([s]) => s.label).sort(),
    clear: () => {
      created.length = 0;
      released.length = 0;
    },
  };
}

/** The options of one golden case, with the golden's injected latents. */
export function caseOptions(name: string, extra: Partial<GenerateOptions> = {}): GenerateOptions {
  const c = loadCases().cases.find((k) => k.name === name);
  if (!c) throw new Error(`no golden case ${name}`);
  return {
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    steps: c.num_inference_steps,
    guidance: c.guidance_scale,
    scheduler: c.scheduler,
    latents: loadNpy(c.latents).data,
    height: c.height,
    width: c.width,
    preview: false,
    ...extra,
  };
}

export function expectGolden(name: string, out: GenerateResult): void {
  const c = loadCases().cases.find((k) => k.name === name)!;
  expect(maxAbsDiff(out.rgbFloat, loadNpy(c.rgb).data), `${name} rgb`).toBeLessThanOrEqual(TOLERANCE);
  expect(maxAbsDiff(out.depth, loadNpy(c.depth).data), `${name} depth`).toBeLessThanOrEqual(TOLERANCE);
}

/** Bit-identical: every float the same. */
export function expectIdentical(a: GenerateResult, b: GenerateResult, what: string): void {
  expect(maxAbsDiff(a.rgbFloat, b.rgbFloat), `${what}: rgb`).toBe(0);
  expect(maxAbsDiff(a.depth, b.depth), `${what}: depth`).toBe(0);
  expect(b.rgb, what).toEqual(a.rgb);
  expect(b.depth16, what).toEqual(a.depth16);
}
