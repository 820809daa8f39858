/**
 * The VR panels' bundled font (issue 13 item 10): the committed MSDF atlas covers Latin-1 and the
 * common punctuation, and vrText keeps exactly what it can draw (accents stay, emoji become "?").
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VR_FONT_CHARSET, VR_FONT_FAMILIES, VR_FONT_URL, vrText } from '../../../src/ui/vr/vr-font';

const FONT_DIR = 'public/fonts/';
const font = JSON.parse(readFileSync(`${FONT_DIR}inter-latin1-400.json`, 'utf8')) as {
  pages: string[];
  chars: { char: string; id: number; width: number }[];
  info: { size: number };
  common: { scaleW: number; scaleH: number };
  distanceField: { fieldType: string; distanceRange: number };
};
const glyphs = new Set(font.chars.map((c) => c.char));

describe('the bundled VR font', () => {
  it('is the file the panels load, in the format uikit reads (one MSDF page beside it)', () => {
    expect(VR_FONT_URL).toBe('./fonts/inter-latin1-400.json');
    expect(VR_FONT_FAMILIES.inter.normal).toBe(VR_FONT_URL);
    expect(font.pages).toEqual(['inter-latin1-400.png']);
    expect(existsSync(`${FONT_DIR}${font.pages[0]}`)).toBe(true);
    const png = readFileSync(`${FONT_DIR}${font.pages[0]}`);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([font.common.scaleW, font.common.scaleH]);
    expect(font.distanceField).toEqual({ fieldType: 'msdf', distanceRange: 4 });
  });

  it('has a glyph for printable ASCII, every Latin-1 letter and sign, and common punctuation', () => {
    const want: string[] = [];
    for (let c = 0x20; c <= 0x7e; c++) want.push(String.fromCharCode(c));
    for (let c = 0xa1; c <= 0xff; c++) if (c !== 0xad) want.push(String.fromCharCode(c));
    want.push(...'–—‘’“”„…•€™−');
    expect(want.filter((c) => !glyphs.has(c))).toEqual([]);
    // And the charset vrText trusts is exactly what the atlas has.
    expect([...VR_FONT_CHARSET].filter((c) => !glyphs.has(c))).toEqual([]);
    expect(font.chars.filter((c) => !VR_FONT_CHARSET.includes(c.char))).toEqual([]);
  });

  it('ships its licence (SIL Open Font License) beside it', () => {
    expect(readFileSync(`${FONT_DIR}Inter-LICENSE.txt`, 'utf8')).toMatch(/SIL Open Font License, Version 1\.1/);
  });
});

describe('vrText', () => {
  it('keeps accented prompts and typographic punctuation as they are', () => {
    for (const s of ['café crème brûlée', 'Zürich, Ærøskøbing, señor García', '“golden hour” — ‘quiet’ …', '50 € × 2, ½ °C, ¡Qué! ¿Dónde?', 'Step 2 of 50 — about 1 min left…']) {
      expect(vrText(s)).toBe(s);
    }
    expect(vrText('plain text\nsecond line')).toBe('plain text\nsecond line');
  });

  it('composes combining accents the atlas has as one letter', () => {
    expect(vrText('cafe\u0301')).toBe('café');
  });

  it('marks what it cannot draw with one "?" per character, an emoji sequence being one character', () => {
    expect(vrText('a beach 🌅')).toBe('a beach ?');
    expect(vrText('family 👨‍👩‍👧, ok 👍🏽, heart ❤️')).toBe('family ?, ok ?, heart ?');
    expect(vrText('東京')).toBe('??');
  });

  it('draws a few missing characters as look-alikes', () => {
    expect(vrText('a\u00a0b ‐ Škoda')).toBe('a b - Skoda');
  });
});
