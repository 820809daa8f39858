/**
 * "Sharpen view" in the headset: sharpens what the head looks at when pressed (the panel sits
 * below the line of sight, so the head's forward, not the controller ray, is the direction),
 * with Cancel, progress and what is loaded. Progress reaches the label through setProperties,
 * at most PROGRESS_MIN_MS apart, never through React.
 */
import { Container, Text, type VanillaText } from '@react-three/uikit';
import { useEffect, useRef, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { loadedModelsText, type SharpenStore } from '../../state/sharpen';
import type { GenerationStore } from '../../state/generation';
import { asciiText } from '../generate/ascii-text';
import { VRButton } from './VRButton';
import { PROGRESS_MIN_MS } from './VRPromptSection';

export interface VRSharpenSectionProps {
  readonly store: SharpenStore;
  readonly generation: GenerationStore;
}

export function VRSharpenSection({ store, generation }: VRSharpenSectionProps): ReactNode {
  const status = useStore(store, (s) => s.status);
  const sr = useStore(store, (s) => s.srModel);
  const pano = useStore(generation, (s) => s.model);
  const genStatus = useStore(generation, (s) => s.status);
  const label = useRef<VanillaText>(null);
  const generating = genStatus === 'planning' || genStatus === 'loading' || genStatus === 'generating' || genStatus === 'cancelling';
  const running = status === 'sharpening' || status === 'cancelling';

  useEffect(() => {
    let lastAt = -Infinity;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const apply = (): void => {
      timer = null;
      lastAt = performance.now();
      label.current?.setProperties({ text: asciiText(store.getState().progress?.text ?? '') });
    };
    apply();
    const unsubscribe = store.subscribe((s, prev) => {
      if (s.progress === prev.progress || timer !== null) return;
      const wait = PROGRESS_MIN_MS - (performance.now() - lastAt);
      if (wait <= 0) apply();
      else timer = setTimeout(apply, wait);
    });
    return () => {
      unsubscribe();
      if (timer !== null) clearTimeout(timer);
    };
  }, [store]);

  return (
    <Container flexDirection="column" gap={6}>
      <Container flexDirection="row" gap={10} alignItems="center">
        <VRButton label={running ? 'Sharpening...' : 'Sharpen view'} disabled={running || generating || status === 'unloading'} onClick={() => void store.getState().sharpen()} />
        <VRButton label="Cancel" disabled={status !== 'sharpening'} onClick={() => store.getState().cancel()} />
        <VRButton label="Release SR" disabled={sr === null || status !== 'idle'} onClick={() => void store.getState().unload()} />
      </Container>
      <Text ref={label} fontSize={16} color="#b8c2cc">
        {''}
      </Text>
      <Text fontSize={14} color="#8a96a3">
        {asciiText(loadedModelsText(pano ? { modelId: pano.summary.modelId, testWeights: pano.testWeights } : null, sr))}
      </Text>
    </Container>
  );
}
