/**
 * The small panel shown inside VR: what is on show, recenter, and depth scale. Later issues add
 * the prompt and generation controls here. Built with uikit (instanced panels + MSDF text: a few
 * draw calls), pointed at with the controller rays.
 */
import { Container, Text } from '@react-three/uikit';
import type { ReactNode } from 'react';
import { useStore } from 'zustand';
import type { DepthMapping } from '../panorama/types';
import type { SceneStore } from '../state/viewer';
import type { GenerationStore } from '../state/generation';
import type { SharpenStore } from '../state/sharpen';
import { depthScaleOf, stepDepthScale } from './depth-controls';
import { VRPromptSection } from './vr/VRPromptSection';
import { VRSharpenSection } from './vr/VRSharpenSection';
import { VR_FONT_FAMILIES } from './vr/vr-font';

export interface VRPanelProps {
  readonly sceneStore: SceneStore;
  readonly baseMapping: DepthMapping;
  readonly generation: GenerationStore;
  readonly sharpen: SharpenStore;
  onRecenter(): void;
  /** Shown at the top: the bar that moves the panel (src/ui/vr/VRGrabBar.tsx). */
  readonly grabBar?: ReactNode;
}

// Labels stay within the bundled MSDF font's glyphs (src/ui/vr/vr-font.ts: Latin-1 and common punctuation).

/** Each press scales the scene by this factor (or its inverse). */
const DEPTH_STEP = 1.25;

function PanelButton({ label, onClick }: { label: string; onClick(): void }): ReactNode {
  return (
    <Container
      backgroundColor="#3a4450"
      hover={{ backgroundColor: '#56657a' }}
      active={{ backgroundColor: '#7a8ea8' }}
      borderRadius={10}
      paddingX={16}
      paddingY={10}
      flexShrink={0}
      cursor="pointer"
      onClick={onClick}
    >
      <Text fontSize={22} color="#ffffff">
        {label}
      </Text>
    </Container>
  );
}

export function VRPanel({ sceneStore, baseMapping, generation, sharpen, onRecenter, grabBar }: VRPanelProps): ReactNode {
  const mapping = useStore(sceneStore, (s) => s.depthMapping);
  const label = useStore(sceneStore, (s) => s.current?.label ?? '');
  const lastError = useStore(sceneStore, (s) => s.messages.findLast((m) => m.kind === 'error')?.text ?? null);
  const scale = depthScaleOf(mapping, baseMapping);
  const step = (factor: number): void => {
    const s = sceneStore.getState();
    s.setDepthMapping(stepDepthScale(s.depthMapping, baseMapping, factor));
  };
  return (
    // 1 px = 1 mm: a 56 cm wide panel (with the keyboard) about 1 m away below eye level
    // (src/ui/vr/panel-placement.ts).
    <Container
      pixelSize={0.001}
      // The bundled Latin-1 font (issue 13 item 10), inherited by every Text below.
      fontFamilies={VR_FONT_FAMILIES}
      flexDirection="column"
      gap={12}
      padding={18}
      backgroundColor="#1b1f24"
      borderRadius={16}
      width={560}
      // Drawn over the panorama whatever the depth scale: with a small scale the scene's surfaces
      // come nearer than the panel and would hide it.
      depthTest={false}
      renderOrder={10}
    >
      {grabBar}
      <Text fontSize={18} color="#b8c2cc">
        {label}
      </Text>
      {/* One row for view controls: every row added below the keyboard lifts the centred panel's
          top into the line of sight (the e2e test checks the view ahead stays clear). */}
      <Container flexDirection="row" gap={10} alignItems="center">
        <PanelButton label="Recenter" onClick={onRecenter} />
        <PanelButton label="Depth -" onClick={() => step(1 / DEPTH_STEP)} />
        <Text fontSize={20} color="#ffffff">
          {`${scale.toFixed(2)}x`}
        </Text>
        <PanelButton label="Depth +" onClick={() => step(DEPTH_STEP)} />
      </Container>
      <VRPromptSection store={generation} />
      <VRSharpenSection store={sharpen} generation={generation} viewer={sceneStore} />
      {lastError !== null ? (
        <Text fontSize={16} color="#ff8a80">
          {lastError}
        </Text>
      ) : null}
    </Container>
  );
}
