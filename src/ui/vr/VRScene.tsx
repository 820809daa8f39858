/**
 * Where the VR panels stand around the viewer (inside the rig, so recenter and snap turn carry
 * them with the panorama): the main panel (prompt, keyboard, settings, progress) ahead and below
 * eye level, tilted up; the gallery to the left, turned to face the viewer.
 */
import type { ReactNode } from 'react';
import type { DepthMapping } from '../../panorama/types';
import type { SceneStore } from '../../state/scene-store';
import type { GenerationStore } from '../../state/generation';
import type { SceneServices } from '../../storage/save-then-show';
import { VRPanel } from '../VRPanel';
import { VRGallery } from './VRGallery';

export interface VRSceneProps {
  readonly sceneStore: SceneStore;
  readonly baseMapping: DepthMapping;
  readonly generation: GenerationStore;
  readonly services: SceneServices;
  onRecenter(): void;
}

export function VRScene({ sceneStore, baseMapping, generation, services, onRecenter }: VRSceneProps): ReactNode {
  return (
    <>
      <group position={[0, -0.4, -0.65]} rotation={[-0.45, 0, 0]}>
        <VRPanel sceneStore={sceneStore} baseMapping={baseMapping} onRecenter={onRecenter} />
      </group>
      <group position={[-0.62, -0.2, -0.45]} rotation={[0, 0.94, 0]}>
        <group rotation={[-0.3, 0, 0]}>
          <VRGallery services={services} generation={generation} />
        </group>
      </group>
    </>
  );
}
