/**
 * The VR panels' font (issue 13 item 10). uikit draws text from an MSDF atlas; the font it ships
 * by default (@pmndrs/msdfonts' Inter) has ASCII and a handful of German letters only, so accented
 * prompts came out as "?". This one is Inter 400 (SIL OFL 1.1, from @fontsource/inter's latin
 * subset) rendered by msdfgen into public/fonts/ by scripts/make-vr-font.ts, offline, with
 * VR_FONT_CHARSET below: printable ASCII, all of Latin-1 and the common typographic punctuation.
 * It is served with the app (no network font), and every uikit root sets VR_FONT_FAMILIES.
 *
 * The charset is defined here, not only in the generated JSON, so vrText can map text to glyphs
 * the atlas has without loading it; test/ui/vr/vr-font.test.ts checks the two agree.
 */

/** Printable ASCII, Latin-1 (U+00A1–U+00FF but the invisible soft hyphen) and punctuation. */
export const VR_FONT_CHARSET: string = (() => {
  let s = '';
  for (let c = 0x20; c <= 0x7e; c++) s += String.fromCharCode(c);
  for (let c = 0xa1; c <= 0xff; c++) if (c !== 0xad) s += String.fromCharCode(c);
  // Œ œ ı, – — ‘ ’ ‚ “ ” „ • … ‹ › € ™ − ′ ″: in the font's latin subset, and common in typed or
  // dictated text (a transcript's quotes and dashes). Š š Ž ž Ÿ ‰ are not in that subset.
  return s + '\u0152\u0153\u0131\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026\u2039\u203a\u20ac\u2122\u2212\u2032\u2033';
})();

/** The generated atlas (public/fonts/), relative to the page like the app's other assets. */
export const VR_FONT_URL = './fonts/inter-latin1-400.json';

/** uikit `fontFamilies` for every VR root: one family, one weight (uikit picks the nearest). */
export const VR_FONT_FAMILIES = { inter: { normal: VR_FONT_URL } } as const;

const GLYPHS = new Set(VR_FONT_CHARSET);

/** Stand-ins for characters the atlas lacks but whose meaning is easy to keep. */
const FALLBACKS: Readonly<Record<string, string>> = {
  '\u2010': '-', // hyphen
  '\u2011': '-', // non-breaking hyphen
  '\u2012': '-', // figure dash
  '\u2015': '\u2014', // horizontal bar
  '\u00a0': ' ', // no-break space: not in the atlas, and a plain space looks the same
  '\u2009': ' ',
  '\u202f': ' ',
  '\u2030': '%.', // per mille
  '\u0160': 'S',
  '\u0161': 's',
  '\u017d': 'Z',
  '\u017e': 'z',
  '\u0178': 'Y',
};

/**
 * Text as the VR font can draw it: characters in the atlas stay (accents, €, “quotes”, …), a few
 * others get a look-alike, combining accents are first composed (NFC: "e" + U+0301 → "é"), and
 * anything else (emoji, CJK, …) becomes one "?" per character, never per UTF-16 unit, so an
 * emoji is one "?" rather than two broken glyphs.
 */
export function vrText(s: string): string {
  let out = '';
  let joined = false;
  for (const ch of s.normalize('NFC')) {
    if (ch === '\u200d') {
      // Zero-width joiner: the next character is part of the same emoji (👨‍👩‍👧 is one picture).
      joined = true;
      continue;
    }
    // A mark NFC could not compose, an emoji variation selector or skin tone: part of the previous character.
    if (/\p{M}|\p{Emoji_Modifier}/u.test(ch)) continue;
    const wasJoined = joined;
    joined = false;
    if (ch === '\n' || GLYPHS.has(ch)) out += ch;
    else if (ch in FALLBACKS) out += FALLBACKS[ch];
    else if (!wasJoined) out += '?';
  }
  return out;
}
