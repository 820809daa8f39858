import { describe, expect, it } from 'vitest';
import { asciiText } from '../../../src/ui/generate/ascii-text';

describe('asciiText', () => {
  it('maps the punctuation the app writes to ASCII and marks anything else', () => {
    expect(asciiText('Step 2 of 50 — about 1 min left…')).toBe('Step 2 of 50 - about 1 min left...');
    expect(asciiText('“café” ‘x’ 2×')).toBe('"caf?" \'x\' 2x');
    expect(asciiText('plain text\nsecond line')).toBe('plain text\nsecond line');
  });
});
