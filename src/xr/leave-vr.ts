/**
 * Leaving VR while a panorama is being made (issue 13 item 7). Taking the headset off or pressing
 * the browser's back button ends the XR session, not the page: the generation runs in its worker
 * and goes on, its scene is saved before it is shown (save-then-show), and the scene store is the
 * same in and out of VR, so the new scene is what the user finds on the 2-D page and when they
 * enter VR again. What was missing is telling them: the choice to stop it is the Cancel button of
 * the page's Generate panel, and they need to know the job is still running to make it.
 */
import type { GenerationStatus } from '../state/generation';

/** Statuses in which a job is under way (the worker is planning, loading or generating). */
const RUNNING: ReadonlySet<GenerationStatus> = new Set(['planning', 'loading', 'generating']);

export const LEFT_VR_WHILE_GENERATING =
  'You left VR while a panorama was being made. It goes on here: it is saved to the gallery and shown when it is done, also when you enter VR again. Press Cancel in the Generate panel to stop it.';

interface Watchable<S> {
  getState(): S;
  subscribe(listener: (state: S, previous: S) => void): () => void;
}

/**
 * Calls `say` with LEFT_VR_WHILE_GENERATING when an XR session ends while the generation store's
 * job is running. Returns the unsubscribe function.
 */
export function watchLeaveVR(
  xr: Watchable<{ readonly session?: unknown }>,
  generation: { getState(): { readonly status: GenerationStatus } },
  say: (text: string) => void,
): () => void {
  return xr.subscribe((state, previous) => {
    if (previous.session == null || state.session != null) return;
    if (RUNNING.has(generation.getState().status)) say(LEFT_VR_WHILE_GENERATING);
  });
}
