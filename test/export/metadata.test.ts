import { describe, expect, it } from 'vitest';
import {
  APP_VERSION,
  METADATA_SCHEMA_VERSION,
  MetadataError,
  parseMetadata,
  stringifyMetadata,
  toMetadataDocument,
  knownSeed,
} from '../../src/export/metadata';
import { sceneFileBase } from '../../src/export/scene-files';
import { seedText } from '../../src/ui/gallery/seed-text';
import { makeMetadata } from './fixtures';
import pkg from '../../package.json';

describe('scene metadata JSON', () => {
  it('round-trips every field, including non-ASCII prompts', () => {
    const meta = makeMetadata();
    expect(parseMetadata(stringifyMetadata(meta))).toEqual(meta);
  });

  it('carries format, schema version, app version and the depth encoding', () => {
    const doc = JSON.parse(stringifyMetadata(makeMetadata()));
    expect(doc.format).toBe('ldm3d-xr.scene');
    expect(doc.schemaVersion).toBe(METADATA_SCHEMA_VERSION);
    expect(doc.appVersion).toBe(pkg.version);
    expect(APP_VERSION).toBe(pkg.version);
    expect(doc.depthEncoding).toMatch(/floor\(d \* 65535\)/);
    expect(doc.settings).toEqual({ steps: 50, guidance: 7, scheduler: 'ddim', seed: 1234567 });
  });

  it('never copies extra properties of the caller’s object into the file', () => {
    const withPixels = { ...makeMetadata(), rgbPng: new Uint8Array(3), id: 'x' };
    expect(Object.keys(toMetadataDocument(withPixels))).not.toContain('rgbPng');
    expect(Object.keys(toMetadataDocument(withPixels))).not.toContain('id');
  });

  it('records the generation preset and the DeepCache interval, and reads scenes made before them', () => {
    const meta = makeMetadata();
    const withPreset = { ...meta, settings: { ...meta.settings, preset: 'headset', deepCacheInterval: 2 } };
    const doc = JSON.parse(stringifyMetadata(withPreset));
    expect(doc.settings).toEqual({ steps: 50, guidance: 7, scheduler: 'ddim', seed: 1234567, preset: 'headset', deepCacheInterval: 2 });
    expect(parseMetadata(doc)).toEqual(withPreset);
    // An older file has neither; it stays without them (not invented), same schema version.
    const old = parseMetadata(stringifyMetadata(meta));
    expect(old.settings).not.toHaveProperty('preset');
    expect(old.settings).not.toHaveProperty('deepCacheInterval');
    const bad = (settings: Record<string, unknown>) => JSON.stringify({ ...doc, settings: { ...doc.settings, ...settings } });
    expect(() => parseMetadata(bad({ deepCacheInterval: 0 }))).toThrow(/"settings\.deepCacheInterval" must be an integer ≥ 1/);
    expect(() => parseMetadata(bad({ deepCacheInterval: 11 }))).toThrow(/"settings\.deepCacheInterval" must be from 1 to 10/);
    expect(() => parseMetadata(bad({ deepCacheInterval: 2.5 }))).toThrow(/"settings\.deepCacheInterval" must be an integer/);
    expect(() => parseMetadata(bad({ preset: 3 }))).toThrow(/"settings\.preset" must be a string/);
  });

  it('records the seam metric (issue 12) when given, and reads scenes without it', () => {
    const meta = { ...makeMetadata(), seam: { rgb: 1.04, depth: 3.5 } };
    const doc = JSON.parse(stringifyMetadata(meta));
    expect(doc.seam).toEqual({ rgb: 1.04, depth: 3.5 });
    expect(parseMetadata(doc)).toEqual(meta);
    expect(parseMetadata(stringifyMetadata(makeMetadata()))).not.toHaveProperty('seam');
    const bad = (seam: unknown) => JSON.stringify({ ...doc, seam });
    expect(() => parseMetadata(bad({ rgb: 1 }))).toThrow(/"seam\.depth" must be a finite number/);
    expect(() => parseMetadata(bad({ rgb: -1, depth: 1 }))).toThrow(/"seam\.rgb" must be ≥ 0/);
    expect(() => parseMetadata(bad([1, 2]))).toThrow(/"seam" must be a JSON object/);
  });

  it('rejects bad documents with a message naming the field', () => {
    const good = toMetadataDocument(makeMetadata());
    const bad = (patch: Record<string, unknown>) => JSON.stringify({ ...good, ...patch });
    expect(() => parseMetadata('{oops')).toThrow(/not valid JSON/);
    expect(() => parseMetadata('[]')).toThrow(/must be a JSON object/);
    expect(() => parseMetadata(bad({ format: 'something-else' }))).toThrow(/not LDM3D-XR scene metadata/);
    expect(() => parseMetadata(bad({ schemaVersion: 99 }))).toThrow(/schema version 99.*newer/);
    expect(() => parseMetadata(bad({ prompt: 5 }))).toThrow(/"prompt" must be a string/);
    expect(() => parseMetadata(bad({ settings: { ...good.settings, seed: 1.5 } }))).toThrow(/"settings\.seed" must be an integer/);
    expect(() => parseMetadata(bad({ settings: { ...good.settings, steps: -1 } }))).toThrow(/"settings\.steps"/);
    expect(() => parseMetadata(bad({ createdAt: 'yesterday' }))).toThrow(/"createdAt" is not a date/);
    expect(() => parseMetadata(bad({ depthMapping: { near: 5, far: 2 } }))).toThrow(/far.*greater than.*near/);
    expect(() => parseMetadata(bad({ testWeights: 'no' }))).toThrow(/"testWeights" must be true or false/);
    expect(() => parseMetadata(bad({ width: undefined }))).toThrow(MetadataError);
  });
});

describe('scenes without a seed (issue 14: imported pixels showed "seed 0")', () => {
  const noSeed = { ...makeMetadata(), modelId: 'imported', settings: { steps: 0, guidance: 0, scheduler: 'unknown' } };

  it('writes no seed and reads it back as absent, while files with a seed parse as before', () => {
    const doc = JSON.parse(stringifyMetadata(noSeed));
    expect('seed' in doc.settings).toBe(false);
    const back = parseMetadata(stringifyMetadata(noSeed));
    expect(back).toEqual(noSeed);
    expect(back.settings.seed).toBeUndefined();
    expect(parseMetadata(stringifyMetadata(makeMetadata())).settings.seed).toBe(1234567);
    expect(parseMetadata(stringifyMetadata({ ...makeMetadata(), settings: { ...makeMetadata().settings, seed: 0 } })).settings.seed).toBe(0);
  });

  it('writes the seed as a JSON number and reads an older decimal-string seed as that number, refusing one beyond 2^53 − 1 (issue 14 item 14)', () => {
    const meta = { ...makeMetadata(), settings: { ...makeMetadata().settings, seed: Number.MAX_SAFE_INTEGER } };
    const text = stringifyMetadata(meta);
    expect(text).toMatch(/"seed": 9007199254740991\n/);
    expect(parseMetadata(text).settings.seed).toBe(Number.MAX_SAFE_INTEGER);
    const doc = toMetadataDocument(makeMetadata());
    const withSeed = (seed: unknown) => JSON.stringify({ ...doc, settings: { ...doc.settings, seed } });
    expect(parseMetadata(withSeed('1234567')).settings.seed).toBe(1234567);
    expect(parseMetadata(withSeed('9007199254740991')).settings.seed).toBe(Number.MAX_SAFE_INTEGER);
    // Would round to another seed as a number: refused by name, never silently changed.
    expect(() => parseMetadata(withSeed('9007199254740993'))).toThrow(/"settings\.seed" \(9007199254740993\) is above 2\^53 − 1/);
    expect(() => parseMetadata(withSeed('12abc'))).toThrow(/"settings\.seed" must be a finite number/);
    expect(() => parseMetadata(withSeed('-3'))).toThrow(/"settings\.seed" must be a finite number/);
  });

  it('treats the placeholder seed 0 of earlier imports as no seed, and a generated seed 0 as a seed', () => {
    expect(knownSeed(noSeed)).toBeUndefined();
    expect(knownSeed({ ...noSeed, settings: { ...noSeed.settings, seed: 0 } })).toBeUndefined();
    expect(knownSeed({ ...makeMetadata(), settings: { ...makeMetadata().settings, seed: 0 } })).toBe(0);
    expect(knownSeed(makeMetadata())).toBe(1234567);
  });

  it('shows no seed in the gallery line or the file names', () => {
    expect(seedText(noSeed)).toBe('');
    expect(seedText({ ...noSeed, settings: { ...noSeed.settings, seed: 0 } })).toBe('');
    expect(seedText(makeMetadata())).toBe(' · seed 1234567');
    expect(seedText(makeMetadata(), ' - ')).toBe(' - seed 1234567');
    expect(sceneFileBase({ ...noSeed, prompt: 'room.png' })).toBe('ldm3d-2026-05-04-room-png');
  });
});
