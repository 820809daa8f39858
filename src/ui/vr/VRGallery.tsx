/**
 * The gallery in VR: thumbnails of the saved scenes (newest first), step into one (the viewer
 * fades: see src/xr/comfort-fade.ts), delete, regenerate with the same seed or a new one through
 * the generation store with the scene's saved settings. Storage errors are shown on the panel.
 */
import { build, Container, Text, VanillaImage, type ImageProperties, type VanillaContainer } from '@react-three/uikit';
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { GenerationStore } from '../../state/generation';
import { showSavedScene, type SceneServices } from '../../storage/save-then-show';
import type { SceneSummary } from '../../storage/gallery-db';
import { VR_FONT_FAMILIES, vrText } from './vr-font';
import { useObjectUrl } from '../gallery/use-object-url';
import { useSceneList } from '../gallery/use-scene-list';
import { seedText } from '../gallery/seed-text';
import { VRButton } from './VRButton';
import { registerVRElement, vrDebug } from './vr-debug';
import { regenerateSettings } from './regenerate';

export interface VRGalleryProps {
  readonly services: SceneServices;
  readonly generation: GenerationStore;
}

/**
 * uikit's own Image registers its element under the class's `name`, which the production
 * minifier shortens so that it collides with another uikit element ("the image component can not
 * have any children" on every Container). An explicit name is unique (as for the prompt Textarea).
 */
const Thumbnail = build<VanillaImage, ImageProperties>(VanillaImage, 'Ldm3dVRThumbnail');

/** Thumbnails on one page of the panel. */
export const GALLERY_PAGE = 6;

function Thumb({ scene, selected, onSelect }: { scene: SceneSummary; selected: boolean; onSelect(): void }): ReactNode {
  const url = useObjectUrl(scene.thumbnail.bytes, scene.thumbnail.mimeType, scene.id);
  // Tests aim the controller ray at a thumbnail by its scene id (vr-debug.ts).
  const register = useCallback((el: VanillaContainer | null) => (el ? registerVRElement(`thumb:${scene.id}`, el) : undefined), [scene.id]);
  return (
    <Container
      ref={register}
      flexDirection="column"
      gap={4}
      padding={4}
      width={150}
      borderRadius={8}
      backgroundColor={selected ? '#1f6fd1' : '#2a3038'}
      hover={{ backgroundColor: selected ? '#3b86e0' : '#3a4450' }}
      cursor="pointer"
      onClick={onSelect}
    >
      {url ? <Thumbnail src={url} width={142} height={71} objectFit="cover" borderRadius={4} /> : <Container width={142} height={71} backgroundColor="#0f1216" />}
      <Text fontSize={13} color="#d0d8e0" wordBreak="break-word" maxHeight={36} overflow="hidden">
        {vrText(scene.prompt).slice(0, 40) || '(empty prompt)'}
      </Text>
    </Container>
  );
}

export function VRGallery({ services, generation }: VRGalleryProps): ReactNode {
  const { scenes, error, loading } = useSceneList(services.store);
  const currentId = useStore(services.current, (s) => s.scene?.savedId ?? null);
  const busyGenerating = useStore(generation, (s) => s.status !== 'idle' && s.status !== 'error');
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const pages = Math.max(1, Math.ceil(scenes.length / GALLERY_PAGE));
  const shown = scenes.slice(page * GALLERY_PAGE, page * GALLERY_PAGE + GALLERY_PAGE);
  const sel = scenes.find((s) => s.id === selected) ?? null;

  useEffect(() => {
    if (page >= pages) setPage(pages - 1);
  }, [page, pages]);

  const run = useCallback(
    async (job: () => Promise<void>) => {
      setBusy(true);
      try {
        await job();
      } catch (e) {
        services.viewer.say('error', e instanceof Error ? e.message : String(e));
      } finally {
        setBusy(false);
      }
    },
    [services],
  );
  const open = useCallback((s: SceneSummary) => void run(async () => void (await showSavedScene(s.id, services))), [run, services]);
  const remove = useCallback(
    (s: SceneSummary) =>
      void run(async () => {
        await (await services.store()).delete(s.id);
        setSelected((cur) => (cur === s.id ? null : cur));
      }),
    [run, services],
  );
  const regenerate = useCallback(
    (s: SceneSummary, sameSeed: boolean) => {
      const st = generation.getState();
      st.updateSettings(regenerateSettings(s, sameSeed));
      void st.generate();
    },
    [generation],
  );

  useEffect(() => {
    const debug = vrDebug();
    debug.gallery = scenes.map((s) => ({ id: s.id, prompt: s.prompt }));
  }, [scenes]);
  useEffect(() => {
    const debug = vrDebug();
    const at = (i: number): SceneSummary => {
      const s = scenes[i];
      if (!s) throw new RangeError(`No saved scene at index ${i} (${scenes.length} listed).`);
      return s;
    };
    debug.openScene = (i) => open(at(i));
    debug.deleteScene = (i) => remove(at(i));
    debug.regenerate = (i, same) => regenerate(at(i), same);
    return () => {
      debug.openScene = debug.deleteScene = debug.regenerate = null;
    };
  }, [scenes, open, remove, regenerate]);

  return (
    <Container
      pixelSize={0.001}
      fontFamilies={VR_FONT_FAMILIES}
      flexDirection="column"
      gap={10}
      padding={16}
      backgroundColor="#1b1f24"
      borderRadius={14}
      width={520}
      depthTest={false}
      renderOrder={10}
    >
      <Container flexDirection="row" alignItems="center" gap={8}>
        <Text fontSize={22} color="#ffffff" flexGrow={1}>
          {loading ? 'Saved scenes' : `Saved scenes (${scenes.length})`}
        </Text>
        <VRButton label="<" disabled={page <= 0} onClick={() => setPage(page - 1)} />
        <Text fontSize={16} color="#b8c2cc">{`${page + 1}/${pages}`}</Text>
        <VRButton label=">" disabled={page >= pages - 1} onClick={() => setPage(page + 1)} />
      </Container>
      {error !== null ? (
        <Text fontSize={16} color="#ff8a80">
          {vrText(error)}
        </Text>
      ) : !loading && scenes.length === 0 ? (
        <Text fontSize={16} color="#b8c2cc">
          No saved scenes yet. Generated scenes are saved here automatically.
        </Text>
      ) : null}
      <Container flexDirection="row" flexWrap="wrap" gap={8}>
        {shown.map((s) => (
          <Thumb key={s.id} scene={s} selected={s.id === selected || (selected === null && s.id === currentId)} onSelect={() => setSelected(s.id)} />
        ))}
      </Container>
      {sel ? (
        <Container flexDirection="column" gap={8}>
          <Text fontSize={14} color="#b8c2cc">
            {vrText(`${sel.prompt.slice(0, 80)}${seedText(sel, ' - ')}${sel.settings.steps > 0 ? `, ${sel.settings.steps} steps` : ''}`)}
          </Text>
          <Container flexDirection="row" gap={8} flexWrap="wrap">
            <VRButton label="Step in" disabled={busy} onClick={() => open(sel)} />
            <VRButton label="Same seed" disabled={busy || busyGenerating || sel.settings.steps < 1} onClick={() => regenerate(sel, true)} />
            <VRButton label="New seed" disabled={busy || busyGenerating || sel.settings.steps < 1} onClick={() => regenerate(sel, false)} />
            <VRButton label="Delete" disabled={busy} onClick={() => remove(sel)} />
          </Container>
        </Container>
      ) : (
        <Text fontSize={14} color="#7b8794">
          Point at a scene to choose it.
        </Text>
      )}
    </Container>
  );
}
