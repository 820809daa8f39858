/** The generation settings that remake a saved scene (pure; the gallery applies them). */
import type { GenerationSettings } from '../../state/generation';
import type { SceneMetadata } from '../../export/metadata';
import { SCHEDULERS, type SchedulerName } from '../../workers/protocol';
import { deepCacheIntervalError } from '../../pipeline/presets';

/**
 * Prompt, negative prompt, steps, guidance, scheduler and DeepCache interval of `scene`; its seed
 * when `sameSeed`, else a fresh random one. The model stays the one in the settings: a scene records
 * the model's id, not the address it was loaded from. Scenes imported without metadata (steps 0)
 * keep current steps. A scene made before DeepCache existed ran without it (interval 1), one made
 * before wrap padding without that (wrap off). The preset
 * follows from the values (the generation store names it).
 */
export function regenerateSettings(scene: Pick<SceneMetadata, 'prompt' | 'negativePrompt' | 'settings'>, sameSeed: boolean): Partial<GenerationSettings> {
  const s = scene.settings;
  const scheduler = SCHEDULERS.includes(s.scheduler as SchedulerName) ? (s.scheduler as SchedulerName) : undefined;
  return {
    prompt: scene.prompt,
    negativePrompt: scene.negativePrompt,
    ...(s.steps >= 1 ? { steps: s.steps } : {}),
    ...(s.guidance > 0 ? { guidance: s.guidance } : {}),
    ...(scheduler ? { scheduler } : {}),
    ...(s.steps >= 1 ? { deepCacheInterval: deepCacheIntervalError(s.deepCacheInterval ?? 1) === null ? (s.deepCacheInterval ?? 1) : 1 } : {}),
    // A scene made before wrap existed ran with zero padding; the same seed remakes it only so.
    ...(s.steps >= 1 ? { wrap: s.wrap ?? false } : {}),
    // A scene without a seed (imported from pixels) cannot be remade with "its" seed: draw one.
    ...(sameSeed && s.seed !== undefined ? { seed: s.seed, randomSeed: false } : { randomSeed: true }),
  };
}
