/** A uikit button for the VR panels: a Container with hover/active styles and one Text. */
import { Container, Text } from '@react-three/uikit';
import { useCallback, type ReactNode } from 'react';
import type { Object3D } from 'three';
import { registerVRElement } from './vr-debug';

export interface VRButtonProps {
  readonly label: string;
  /** The name tests find it by (vr-debug.ts); the label by default. */
  readonly name?: string;
  onClick(): void;
  readonly disabled?: boolean;
  /** Highlighted (a toggle that is on, the selected field). */
  readonly selected?: boolean;
  readonly fontSize?: number;
  readonly width?: number;
  readonly flexGrow?: number;
  onPointerDown?(): void;
  onPointerUp?(): void;
}

export function VRButton({ label, name = label, onClick, disabled, selected, fontSize = 20, width, flexGrow, onPointerDown, onPointerUp }: VRButtonProps): ReactNode {
  // Tests find the button by its name to aim the controller ray at it (vr-debug.ts).
  const register = useCallback((el: Object3D | null) => (el ? registerVRElement(name, el) : undefined), [name]);
  const base = disabled ? '#2a3038' : selected ? '#1f6fd1' : '#3a4450';
  return (
    <Container
      ref={register}
      backgroundColor={base}
      // uikit 1.0 crashes on a conditional section that is present but undefined: pass {} instead.
      hover={disabled ? {} : { backgroundColor: selected ? '#3b86e0' : '#56657a' }}
      active={disabled ? {} : { backgroundColor: '#7a8ea8' }}
      borderRadius={8}
      paddingX={12}
      paddingY={8}
      flexShrink={0}
      justifyContent="center"
      alignItems="center"
      {...(width !== undefined ? { width } : {})}
      {...(flexGrow !== undefined ? { flexGrow } : {})}
      cursor={disabled ? undefined : 'pointer'}
      onClick={disabled ? undefined : onClick}
      onPointerDown={disabled ? undefined : onPointerDown}
      onPointerUp={disabled ? undefined : onPointerUp}
      onPointerLeave={disabled ? undefined : onPointerUp}
    >
      <Text fontSize={fontSize} color={disabled ? '#7b8794' : '#ffffff'}>
        {label}
      </Text>
    </Container>
  );
}
