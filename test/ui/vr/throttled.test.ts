import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { subscribeThrottled } from '../../../src/ui/vr/throttled';

describe('subscribeThrottled (VR progress lines)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('applies at once, then at most once per interval, and the last value always lands', () => {
    const store = createStore<{ progress: number; other: number }>(() => ({ progress: 0, other: 0 }));
    const seen: number[] = [];
    const stop = subscribeThrottled(store, (s) => s.progress, (v) => seen.push(v), 200, () => Date.now());
    expect(seen).toEqual([0]);
    vi.advanceTimersByTime(250);
    store.setState({ progress: 1 }); // past the interval: now
    expect(seen).toEqual([0, 1]);
    store.setState({ progress: 2 }); // within it: later
    store.setState({ progress: 3 });
    store.setState({ other: 9 }); // not the selected value: ignored
    expect(seen).toEqual([0, 1]);
    vi.advanceTimersByTime(200);
    expect(seen).toEqual([0, 1, 3]); // one trailing call with the newest value
    stop();
  });

  it('unsubscribing drops a pending call and stops listening', () => {
    const store = createStore<{ progress: number }>(() => ({ progress: 0 }));
    const seen: number[] = [];
    const stop = subscribeThrottled(store, (s) => s.progress, (v) => seen.push(v), 200, () => Date.now());
    store.setState({ progress: 1 });
    stop();
    vi.advanceTimersByTime(1000);
    store.setState({ progress: 2 });
    expect(seen).toEqual([0]);
  });
});
