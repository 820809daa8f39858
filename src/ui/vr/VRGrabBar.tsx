/**
 * The VR panel's grab bar (issue 14 item 8): press the trigger on it and move the controller, and
 * the panel follows the ray at the distance it was grabbed, turning to face the head. The pointer
 * is captured on press, so the bar keeps receiving moves when the ray leaves it mid-drag; the
 * capture hands back the point at the grab distance along the current ray.
 */
import { Container, Text, type VanillaContainer } from '@react-three/uikit';
import { useCallback, useRef, type ReactNode } from 'react';
import { Vector3, type Object3D } from 'three';
import { registerVRElement } from './vr-debug';

export interface VRGrabBarProps {
  /** The group that carries the panel (moved by the drag). */
  readonly panel: { readonly current: Object3D | null };
  /** Called on every move of a drag with the grabbed point (panel-local) and where it is now (world). */
  onDrag(grabbed: Vector3, point: Vector3): void;
  onDragEnd(): void;
}

interface BarEvent {
  readonly point: Vector3;
  readonly object: Object3D;
  readonly pointerId?: number;
  stopPropagation?(): void;
}

/** What @pmndrs/pointer-events adds to every Object3D. */
interface Capturable {
  setPointerCapture?(pointerId: number): void;
  releasePointerCapture?(pointerId: number): void;
}

export const GRAB_BAR_LABEL = 'Drag to move  -  B / Y: bring the panel back';

export function VRGrabBar({ panel, onDrag, onDragEnd }: VRGrabBarProps): ReactNode {
  const drag = useRef<{ pointerId: number | undefined; grabbed: Vector3 } | null>(null);
  const register = useCallback((el: VanillaContainer | null) => (el ? registerVRElement('grab-bar', el) : undefined), []);

  const down = useCallback(
    (e: BarEvent) => {
      const group = panel.current;
      if (!group) return;
      e.stopPropagation?.();
      group.updateWorldMatrix(true, false);
      drag.current = { pointerId: e.pointerId, grabbed: group.worldToLocal(e.point.clone()) };
      if (e.pointerId !== undefined) (e.object as Object3D & Capturable).setPointerCapture?.(e.pointerId);
    },
    [panel],
  );
  const move = useCallback(
    (e: BarEvent) => {
      const d = drag.current;
      if (!d || d.pointerId !== e.pointerId) return;
      onDrag(d.grabbed, e.point);
    },
    [onDrag],
  );
  const up = useCallback(
    (e: BarEvent) => {
      const d = drag.current;
      if (!d || d.pointerId !== e.pointerId) return;
      drag.current = null;
      if (e.pointerId !== undefined) (e.object as Object3D & Capturable).releasePointerCapture?.(e.pointerId);
      onDragEnd();
    },
    [onDragEnd],
  );

  return (
    <Container
      ref={register}
      flexDirection="row"
      justifyContent="center"
      alignItems="center"
      height={30}
      flexShrink={0}
      backgroundColor="#2a3038"
      hover={{ backgroundColor: '#3a4450' }}
      active={{ backgroundColor: '#56657a' }}
      borderRadius={8}
      cursor="pointer"
      onPointerDown={down}
      onPointerMove={move}
      onPointerUp={up}
      onPointerCancel={up}
    >
      <Text fontSize={14} color="#b8c2cc">
        {GRAB_BAR_LABEL}
      </Text>
    </Container>
  );
}
