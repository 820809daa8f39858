/**
 * Non-ASCII prompts (issue 13 item 10): accented words, emoji and typographic punctuation through
 * the app's tokenizer (src/pipeline/tokenizer.ts) give the ids of the reference CLIP tokenizer as
 * transformers.js runs it (its CLIPTokenizer, padding to max_length 77 with truncation, as
 * diffusers calls it), on the same tokenizer files; and the pipeline generates from them.
 *
 * The tiny model's vocabulary is built like CLIP's (models/tiny_vocab.py: the 256 byte symbols,
 * the same with </w>, learnt merges; NFC + lowercase normaliser, CLIP's split regex, byte-level),
 * so every UTF-8 string tokenizes without an unknown token, as with the real 49 408-token one.
 */
import { readFileSync } from 'node:fs';
import { CLIPTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { ClipTokenizer } from '../../src/pipeline/tokenizer';

const DIR = new URL('../../models/tiny/ldm3d-pano/', import.meta.url);
const bytes = (f: string) => new Uint8Array(readFileSync(new URL(`tokenizer/${f}`, DIR)));
const json = (f: string) => JSON.parse(new TextDecoder().decode(bytes(f))) as Record<string, unknown>;

const PROMPTS = [
  'a café in Zürich at dusk, crème brûlée on the table',
  'Ærøskøbing harbour, señor García’s boat — “golden hour”',
  'ÉGLISE SAINT-ÉTIENNE, naïve façade',
  'a beach at sunset 🌅 with palm trees 🌴',
  'a family 👨‍👩‍👧 in a tent, thumbs up 👍🏽',
  'Tōkyō street at night, 東京, ネオン',
  '¡Qué bonito! ¿Dónde? 50 € × 2 … ½ °C',
];

describe('tokenizer with non-ASCII prompts', () => {
  const ours = ClipTokenizer.fromFiles(bytes('tokenizer.json'), bytes('tokenizer_config.json'), 77);
  const reference = new CLIPTokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
  const referenceIds = (text: string): number[] => {
    const { input_ids } = reference(text, { padding: 'max_length', max_length: 77, truncation: true }) as { input_ids: { data: BigInt64Array } };
    return Array.from(input_ids.data, Number);
  };

  it('gives the reference CLIP tokenizer ids for accented words, emoji and punctuation', () => {
    for (const p of PROMPTS) {
      expect(Array.from(ours.encode(p).ids, Number), p).toEqual(referenceIds(p));
      // Untruncated length: the reference's own count, BOS and EOS included.
      expect(ours.encode(p).length, p).toBe(reference.encode(p).length);
    }
  });

  it('keeps accents (café is not cafe), composes them (NFC) and lowercases like CLIP', () => {
    const ids = (t: string) => Array.from(ours.encode(t).ids, Number);
    expect(ids('café')).not.toEqual(ids('cafe'));
    expect(ids('cafe\u0301')).toEqual(ids('café')); // e + combining acute = é
    expect(ids('CAFÉ')).toEqual(ids('café'));
  });

  it('has no unknown token: an emoji becomes its UTF-8 byte tokens, all in the vocabulary', () => {
    const t = ours.encode('🌅');
    const eos = 813; // tiny vocabulary: BOS 812, EOS = PAD = UNK 813 (the manifest's text ids)
    const body = Array.from(t.ids, Number).slice(1, t.length - 1);
    expect(body.length).toBeGreaterThan(0);
    expect(body.length).toBeLessThanOrEqual(4); // at most one token per UTF-8 byte of U+1F305
    expect(body.every((id) => id >= 0 && id < eos - 1)).toBe(true);
  });
});

describe('pipeline with a non-ASCII prompt (wasm, tiny model)', () => {
  let pipe: Ldm3dPipeline;
  beforeAll(async () => {
    pipe = await Ldm3dPipeline.load(await folderSource(DIR.pathname, { verify: false }), { backend: 'wasm' });
  });
  afterAll(() => pipe?.dispose());

  it('generates from accents and emoji, and the accented prompt is not the unaccented one', async () => {
    const run = (prompt: string) => pipe.generate({ prompt, negativePrompt: 'flou, déformé 😖', steps: 1, guidance: 7, scheduler: 'ddim', seed: 5, preview: false });
    const accented = await run(PROMPTS[0]! + ' 🌅');
    expect(accented.settings.prompt).toBe(PROMPTS[0]! + ' 🌅');
    expect(accented.tokens.prompt.count).toBe(freshTokenizer().encode(PROMPTS[0]! + ' 🌅').length);
    expect(accented.rgb.every((v) => Number.isFinite(v))).toBe(true);
    const plain = await run('a cafe in Zurich at dusk, creme brulee on the table');
    // Different ids reach the text encoder, so a different panorama comes out.
    expect(Array.from(accented.rgb)).not.toEqual(Array.from(plain.rgb));
  }, 120_000);
});

function freshTokenizer(): ClipTokenizer {
  return ClipTokenizer.fromFiles(bytes('tokenizer.json'), bytes('tokenizer_config.json'), 77);
}
