/**
 * The virtual keyboard's logic, apart from its uikit view: the layout rows and what each key does
 * to the text being edited. Pure, so it is tested without a headset.
 */

export type SpecialKey = 'shift' | 'backspace' | 'space' | 'clear' | 'symbols';
export type KeyId = { readonly char: string } | { readonly special: SpecialKey };

export interface KeyboardState {
  readonly text: string;
  /** One-shot capitals: the next letter is upper case, then it turns off. */
  readonly shift: boolean;
  /** The digits-and-punctuation layer. */
  readonly symbols: boolean;
}

/** The prompt field's limit: far above CLIP's 77 tokens, but keeps a stuck key from growing it without end. */
export const MAX_TEXT_LENGTH = 1000;

const LETTER_ROWS = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm,.'];
const SYMBOL_ROWS = ['1234567890', "-'\"!?():;", '/&+=%#@,.'];

/** Rows of keys for the current layer; the last row holds the special keys. */
export function keyboardRows(state: Pick<KeyboardState, 'shift' | 'symbols'>): KeyId[][] {
  const rows = (state.symbols ? SYMBOL_ROWS : LETTER_ROWS).map((r) =>
    Array.from(r, (c) => ({ char: state.shift && !state.symbols ? c.toUpperCase() : c }) as KeyId),
  );
  rows[2] = [{ special: 'shift' }, ...rows[2], { special: 'backspace' }];
  rows.push([{ special: 'symbols' }, { special: 'space' }, { special: 'clear' }]);
  return rows;
}

/** What the key shows (ASCII only: the panel's font has no other glyphs). */
export function keyLabel(key: KeyId, state: Pick<KeyboardState, 'shift' | 'symbols'>): string {
  if ('char' in key) return key.char;
  switch (key.special) {
    case 'shift':
      return state.shift ? 'SHIFT' : 'Shift';
    case 'backspace':
      return 'Del';
    case 'space':
      return 'space';
    case 'clear':
      return 'Clear';
    case 'symbols':
      return state.symbols ? 'abc' : '123';
  }
}

/** Printable ASCII only: what the font can draw and the tokenizer reads as typed. */
function isTypable(c: string): boolean {
  return c.length === 1 && c >= ' ' && c <= '~';
}

/** The state after pressing `key`. Characters outside printable ASCII are ignored. */
export function pressKey(state: KeyboardState, key: KeyId): KeyboardState {
  if ('char' in key) {
    if (!isTypable(key.char) || state.text.length >= MAX_TEXT_LENGTH) return state;
    const c = state.shift ? key.char.toUpperCase() : key.char;
    return { ...state, text: state.text + c, shift: false };
  }
  switch (key.special) {
    case 'shift':
      return { ...state, shift: !state.shift };
    case 'backspace':
      return state.text.length === 0 ? state : { ...state, text: withoutLastCharacter(state.text) };
    case 'space':
      // No leading or doubled spaces: they only cost tokens.
      if (state.text.length === 0 || state.text.endsWith(' ') || state.text.length >= MAX_TEXT_LENGTH) return state;
      return { ...state, text: state.text + ' ' };
    case 'clear':
      return { ...state, text: '', shift: false };
    case 'symbols':
      return { ...state, symbols: !state.symbols, shift: false };
  }
}

/** A key by name for tests and the debug hook: "a", "Space", "Backspace", "Shift", "Clear", "123". */
export function keyFromName(name: string): KeyId | null {
  const lower = name.toLowerCase();
  if (lower === 'space' || name === ' ') return { special: 'space' };
  if (lower === 'backspace' || lower === 'del') return { special: 'backspace' };
  if (lower === 'shift') return { special: 'shift' };
  if (lower === 'clear') return { special: 'clear' };
  if (lower === 'symbols' || name === '123' || lower === 'abc') return { special: 'symbols' };
  return isTypable(name) ? { char: name } : null;
}

/**
 * `text` less its last user-perceived character: a dictated or pasted prompt may end in an emoji
 * (two UTF-16 units, or a joined sequence) or a letter with a combining accent, and removing one
 * code unit would leave half of it (a lone surrogate the tokenizer turns into U+FFFD).
 */
export function withoutLastCharacter(text: string): string {
  if (typeof Intl !== 'undefined' && 'Segmenter' in Intl) {
    let last = 0;
    for (const { index } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)) last = index;
    return text.slice(0, last);
  }
  return Array.from(text).slice(0, -1).join('');
}
