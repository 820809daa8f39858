import { describe, expect, it } from 'vitest';
import { keyboardRows, keyFromName, keyLabel, MAX_TEXT_LENGTH, pressKey, type KeyboardState, type KeyId } from '../../../src/ui/vr/keyboard';

const start: KeyboardState = { text: '', shift: false, symbols: false };

function type(state: KeyboardState, names: string[]): KeyboardState {
  return names.reduce((s, n) => pressKey(s, keyFromName(n)!), state);
}

describe('virtual keyboard', () => {
  it('types letters, spaces and deletes', () => {
    const s = type(start, ['a', ' ', 'b', 'c', 'Backspace']);
    expect(s.text).toBe('a b');
  });

  it('shift capitalises one letter, then turns off', () => {
    const s = type(start, ['Shift', 'h', 'i']);
    expect(s.text).toBe('Hi');
    expect(s.shift).toBe(false);
  });

  it('no leading or doubled spaces; backspace on empty text is a no-op', () => {
    expect(type(start, ['Space']).text).toBe('');
    expect(type(start, ['a', 'Space', 'Space', 'b']).text).toBe('a b');
    expect(pressKey(start, { special: 'backspace' })).toBe(start);
  });

  it('clear empties the text; the symbols layer has digits and punctuation', () => {
    expect(type(start, ['x', 'y', 'Clear']).text).toBe('');
    const sym = pressKey(start, { special: 'symbols' });
    expect(sym.symbols).toBe(true);
    const chars = keyboardRows(sym).flat().filter((k): k is { char: string } => 'char' in k).map((k) => k.char).join('');
    expect(chars).toContain('0123456789'.slice(1, 9));
    expect(keyLabel({ special: 'symbols' }, sym)).toBe('abc');
  });

  it('rows show capitals while shift is on and every label is printable ASCII', () => {
    const rows = keyboardRows({ shift: true, symbols: false });
    expect(rows[0].map((k) => keyLabel(k, { shift: true, symbols: false })).join('')).toBe('QWERTYUIOP');
    for (const layer of [start, { ...start, shift: true }, { ...start, symbols: true }]) {
      for (const k of keyboardRows(layer).flat()) expect(keyLabel(k, layer)).toMatch(/^[\x20-\x7e]+$/);
    }
  });

  it('rejects non-ASCII characters and stops at the length limit', () => {
    expect(pressKey(start, { char: '\u2014' })).toBe(start);
    expect(keyFromName('\u00e9')).toBeNull();
    const full: KeyboardState = { ...start, text: 'a'.repeat(MAX_TEXT_LENGTH) };
    expect(pressKey(full, { char: 'b' })).toBe(full);
    expect(pressKey(full, { special: 'space' })).toBe(full);
  });

  it('names map to keys', () => {
    const cases: [string, KeyId | null][] = [
      ['a', { char: 'a' }],
      ['Space', { special: 'space' }],
      ['Del', { special: 'backspace' }],
      ['123', { special: 'symbols' }],
      ['', null],
    ];
    for (const [name, key] of cases) expect(keyFromName(name)).toEqual(key);
  });
});

describe('Backspace on non-ASCII text (issue 13 item 10: dictated or pasted prompts)', () => {
  it('removes a whole emoji, emoji sequence or accented letter, never half of one', () => {
    const back = (text: string) => pressKey({ text, shift: false, symbols: false }, { special: 'backspace' }).text;
    expect(back('a beach 🌅')).toBe('a beach ');
    expect(back('family 👨‍👩‍👧')).toBe('family ');
    expect(back('ok 👍🏽')).toBe('ok ');
    expect(back('cafe\u0301')).toBe('caf');
    expect(back('café')).toBe('caf');
  });
});
