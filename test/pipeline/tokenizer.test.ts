import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src/pipeline/tokenizer';
import { isPipelineError } from '../../src/model/errors';
import { loadCases } from './goldens';

const dir = new URL('../../models/tiny/ldm3d-pano/tokenizer/', import.meta.url);
const read = (f: string) => new Uint8Array(readFileSync(new URL(f, dir)));
const goldens = loadCases();

describe('ClipTokenizer', () => {
  const tok = ClipTokenizer.fromFiles(read('tokenizer.json'), read('tokenizer_config.json'), 77);

  it('gives the same 77 ids as diffusers for every golden prompt and negative prompt', () => {
    for (const c of goldens.cases) {
      const p = tok.encode(c.prompt);
      expect(Array.from(p.ids, Number), c.name).toEqual(c.prompt_token_ids);
      expect(p.length, c.name).toBe(c.prompt_untruncated_length);
      const n = tok.encode(c.negative_prompt ?? '');
      expect(Array.from(n.ids, Number), `${c.name} negative`).toEqual(c.negative_token_ids);
      expect(n.length).toBe(c.negative_untruncated_length);
    }
  });

  it('reports truncation of an over-long prompt and keeps EOS last', () => {
    const long = goldens.cases.find((c) => c.name === 'long-prompt');
    expect(long).toBeDefined();
    const t = tok.encode(long!.prompt);
    expect(t.truncated).toBe(true);
    expect(t.length).toBeGreaterThan(77);
    expect(t.ids.length).toBe(77);
    expect(Number(t.ids[76])).toBe(813);
    expect(tok.encode('a beach').truncated).toBe(false);
  });

  it('names the file when tokenizer files are broken', () => {
    let err: unknown;
    try {
      ClipTokenizer.fromFiles(new TextEncoder().encode('{ not json'), read('tokenizer_config.json'), 77);
    } catch (e) {
      err = e;
    }
    expect(isPipelineError(err, 'model-file')).toBe(true);
    expect((err as Error).message).toMatch(/^tokenizer\/tokenizer\.json: not valid JSON/);
  });
});
