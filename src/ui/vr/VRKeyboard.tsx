/**
 * The virtual keyboard: uikit has no keyboard component, so this is a grid of uikit buttons laid
 * out by uikit's flexbox. Works with controller rays and hand pointers (both produce uikit
 * clicks). Keys change a local layer state (shift, symbols) and hand the text to `onText`.
 */
import { Container } from '@react-three/uikit';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { keyboardRows, keyFromName, keyLabel, pressKey, type KeyId } from './keyboard';
import { VRButton } from './VRButton';

export interface VRKeyboardProps {
  /** The text being edited (the active field's value). */
  readonly text: string;
  onText(text: string): void;
  readonly disabled?: boolean;
  /** Receives the press-by-name function (for the test hook); null on unmount. */
  onPressByName?(press: ((name: string) => boolean) | null): void;
}

export function VRKeyboard({ text, onText, disabled, onPressByName }: VRKeyboardProps): ReactNode {
  const [layer, setLayer] = useState({ shift: false, symbols: false });
  // Several presses may land before React re-renders (a fast test, two hands): read the latest.
  const latest = useRef({ text, ...layer });
  latest.current = { text, ...layer };

  const press = useCallback(
    (key: KeyId) => {
      const before = latest.current;
      const after = pressKey(before, key);
      latest.current = after;
      if (after.shift !== before.shift || after.symbols !== before.symbols) setLayer({ shift: after.shift, symbols: after.symbols });
      if (after.text !== before.text) onText(after.text);
    },
    [onText],
  );

  useEffect(() => {
    if (!onPressByName) return;
    onPressByName((name) => {
      const key = keyFromName(name);
      if (!key || disabled) return false;
      press(key);
      return true;
    });
    return () => onPressByName(null);
  }, [onPressByName, press, disabled]);

  const rows = keyboardRows(layer);
  return (
    <Container flexDirection="column" gap={6} alignItems="center" width="100%">
      {rows.map((row, r) => (
        <Container key={r} flexDirection="row" gap={6} justifyContent="center" width="100%">
          {row.map((key, k) => {
            const wide = 'special' in key;
            return (
              <VRButton
                key={k}
                label={keyLabel(key, layer)}
                fontSize={20}
                disabled={disabled}
                selected={'special' in key && ((key.special === 'shift' && layer.shift) || (key.special === 'symbols' && layer.symbols))}
                {...(wide ? (key.special === 'space' ? { flexGrow: 1 } : {}) : { width: 42 })}
                onClick={() => press(key)}
              />
            );
          })}
        </Container>
      ))}
    </Container>
  );
}
