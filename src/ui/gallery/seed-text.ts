/** The seed part of a gallery line; shared by the desktop and VR galleries so both hide it alike. */
import { knownSeed, type SceneMetadata } from '../../export/metadata';

/**
 * `${separator}seed N`, or '' when the scene has no known seed (imported from pixels alone), so
 * such a scene never reads "seed 0" (issue 14).
 */
export function seedText(meta: Pick<SceneMetadata, 'settings' | 'modelId'>, separator = ' · '): string {
  const seed = knownSeed(meta);
  return seed === undefined ? '' : `${separator}seed ${seed}`;
}
