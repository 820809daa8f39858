/**
 * Transient values (progress) onto uikit text without React: `apply` runs now and whenever
 * `select(state)` changes, at most once per `minMs`, and the last change always lands (a trailing
 * call). Shared by the VR prompt and sharpen sections (issue 15: one copy of the throttle).
 */

interface Subscribable<S> {
  getState(): S;
  subscribe(listener: (state: S, previous: S) => void): () => void;
}

/** Returns the unsubscribe function, which also drops a pending trailing call. */
export function subscribeThrottled<S, V>(
  store: Subscribable<S>,
  select: (state: S) => V,
  apply: (value: V) => void,
  minMs: number,
  now: () => number = () => performance.now(),
): () => void {
  let lastAt = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = (): void => {
    timer = null;
    lastAt = now();
    apply(select(store.getState()));
  };
  run();
  const unsubscribe = store.subscribe((s, prev) => {
    if (select(s) === select(prev) || timer !== null) return;
    const wait = minMs - (now() - lastAt);
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  });
  return () => {
    unsubscribe();
    if (timer !== null) clearTimeout(timer);
  };
}
