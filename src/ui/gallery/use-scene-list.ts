import { useEffect, useState } from 'react';
import type { SceneSummary, SavedSceneStore } from '../../storage/gallery-db';
import { SceneStoreError } from '../../storage/errors';

export interface SceneListState {
  readonly scenes: readonly SceneSummary[];
  /** Why the list is unavailable (private browsing, …); null when it works. */
  readonly error: string | null;
  readonly loading: boolean;
}

/**
 * The saved scenes, newest first, refreshed after every save or delete (the store notifies).
 * Only summaries with thumbnails are read, never full images.
 */
export function useSceneList(openStore: () => Promise<SavedSceneStore>): SceneListState {
  const [state, setState] = useState<SceneListState>({ scenes: [], error: null, loading: true });
  useEffect(() => {
    let alive = true;
    let unsubscribe: (() => void) | null = null;
    const fail = (e: unknown): void => {
      if (!alive) return;
      const message = e instanceof SceneStoreError || e instanceof Error ? e.message : String(e);
      setState({ scenes: [], error: message, loading: false });
    };
    openStore().then((store) => {
      if (!alive) return;
      const refresh = (): void => {
        store.list().then((scenes) => {
          if (alive) setState({ scenes, error: null, loading: false });
        }, fail);
      };
      unsubscribe = store.subscribe(refresh);
      refresh();
    }, fail);
    return () => {
      alive = false;
      unsubscribe?.();
    };
  }, [openStore]);
  return state;
}
