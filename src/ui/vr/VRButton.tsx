/** A uikit button for the VR panels: a Container with hover/active styles and one Text. */
import { Container, Text } from '@react-three/uikit';
import type { ReactNode } from 'react';

export interface VRButtonProps {
  readonly label: string;
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

export function VRButton({ label, onClick, disabled, selected, fontSize = 20, width, flexGrow, onPointerDown, onPointerUp }: VRButtonProps): ReactNode {
  const base = disabled ? '#2a3038' : selected ? '#1f6fd1' : '#3a4450';
  return (
    <Container
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
