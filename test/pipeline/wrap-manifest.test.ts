/** The manifest's "wrap" field (manifest.ts checkWrap, model-files.ts checkManifest): clear errors for bad shapes. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPipelineError } from '../../src/model/errors';
import { checkWrap, wrapInputOf, type Manifest } from '../../src/model/manifest';
import { checkManifest } from '../../src/pipeline/model-files';
import { checkSrManifest } from '../../src/pipeline/sr/pipeline';

const read = (dir: string): Manifest => JSON.parse(readFileSync(`models/tiny/${dir}/manifest.json`, 'utf8')) as Manifest;
const wrapped = (): Manifest => read('ldm3d-pano-wrap');
const withWrap = (m: Manifest, wrap: unknown): Manifest => ({ ...m, wrap } as unknown as Manifest);

function message(f: () => void): string {
  try {
    f();
  } catch (e) {
    expect(isPipelineError(e, 'model-file')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('manifest "wrap"', () => {
  it('the tiny wrapped exports pass; the plain one has none', () => {
    expect(() => checkManifest(wrapped())).not.toThrow();
    expect(() => checkSrManifest(read('ldm3d-sr-wrap'))).not.toThrow();
    expect(() => checkManifest(read('ldm3d-pano'))).not.toThrow();
    expect(wrapInputOf(wrapped(), 'unet')).toBe('circular_pad');
    expect(wrapInputOf(wrapped(), 'text_encoder')).toBeNull();
    expect(wrapInputOf(read('ldm3d-pano'), 'unet')).toBeNull();
  });

  it('bad shapes name the field', () => {
    const m = wrapped();
    expect(message(() => checkWrap(withWrap(m, 'yes')))).toMatch(/"wrap" must be an object/);
    expect(message(() => checkWrap(withWrap(m, { sessions: ['unet'] })))).toMatch(/"wrap.input" must name/);
    expect(message(() => checkWrap(withWrap(m, { input: 'circular_pad', sessions: [] })))).toMatch(/non-empty list/);
    expect(message(() => checkWrap(withWrap(m, { input: 'circular_pad', sessions: 'unet' })))).toMatch(/non-empty list/);
    expect(message(() => checkWrap(withWrap(m, { input: 'circular_pad', sessions: ['unet', 'vae'] })))).toMatch(/"vae", which is not a session name/);
    expect(message(() => checkWrap(withWrap(m, { input: 'circular_pad', sessions: ['unet', 'unet'] })))).toMatch(/"unet" twice/);
    expect(message(() => checkWrap(withWrap(m, { input: 'circular_pad', sessions: ['unet_shallow'] })))).toMatch(/no such session/);
    expect(message(() => checkWrap(withWrap(m, { input: 'circular_pad', sessions: ['unet'] })))).toMatch(/the vae_decoder graph takes "circular_pad" but "wrap.sessions" does not list it/);
    expect(message(() => checkWrap(withWrap(m, undefined)))).toMatch(/no "wrap" entry/);
    const unet = m.sessions.unet!;
    const intInput = { ...m, sessions: { ...m.sessions, unet: { ...unet, inputs: unet.inputs.map((i) => (i.name === 'circular_pad' ? { ...i, dtype: 'int64' as const } : i)) } } };
    expect(message(() => checkWrap(intInput))).toMatch(/"circular_pad" input is int64, expected float32/);
  });

  it('a panorama export must wrap every stage it runs', () => {
    const m = wrapped();
    // Without the input on the decoder, the only complaint left is the coverage one.
    const unetOnly = { ...m, wrap: { input: 'circular_pad', sessions: ['unet'] }, sessions: { ...m.sessions, vae_decoder: { ...m.sessions.vae_decoder!, inputs: m.sessions.vae_decoder!.inputs.filter((i) => i.name !== 'circular_pad') }, vae_encoder: { ...m.sessions.vae_encoder!, inputs: m.sessions.vae_encoder!.inputs.filter((i) => i.name !== 'circular_pad') } } } as Manifest;
    expect(message(() => checkManifest(unetOnly))).toMatch(/"wrap" lists unet but not vae_decoder/);
  });
});
