/**
 * The VR panels' bundled MSDF font has ASCII glyphs only (a missing glyph breaks the text
 * layout), so text from the stores ("—", "…", quotes, "×") is mapped to ASCII before uikit shows it.
 */
export function asciiText(s: string): string {
  return s
    .replace(/[\u2012-\u2015\u2212]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\u00d7/g, 'x')
    .replace(/[^\x20-\x7e\n]/g, '?');
}
