/**
 * DeepCache (Ma et al., arXiv 2312.00858), as its authors' DeepCacheSDHelper runs it on diffusers
 * (horseee/DeepCache, DeepCache/extension/deepcache.py) with cache_branch_id 0 and skip_mode
 * 'uniform': a FULL UNet step keeps the deep features (the hidden state that enters the last layer
 * of the last up block, models/export.py --deepcache exports it as a second output); the steps in
 * between are SHALLOW and run only the outer branch (unet_shallow) on the cached features.
 *
 * Which steps are full: the helper's wrapped UNet forward sets
 *   cur_timestep = list(scheduler.timesteps).index(t)        (the FIRST position of t)
 * and a step is full when (cur_timestep − start_timestep) % cache_interval == 0, start_timestep
 * being the cur_timestep of the first call. PNDM repeats one timestep (its second and third calls),
 * so both of those get the index of the first one: that is replicated here exactly.
 */
import type { RtTensor } from '../runtime/ort';
import { PipelineError } from '../model/errors';
import { MAX_DEEPCACHE_INTERVAL } from './presets';

// One range for the interval everywhere (protocol, metadata, pipeline): presets.ts holds it.
export { MAX_DEEPCACHE_INTERVAL } from './presets';

/**
 * For each UNet call of a plan (one entry per scheduler timestep): true = full step, false = shallow.
 * `interval` 1 makes every step full (DeepCache off).
 */
export function deepCacheSchedule(timesteps: readonly number[], interval: number): boolean[] {
  if (!Number.isInteger(interval) || interval < 1) throw new RangeError(`cache interval must be a whole number ≥ 1, got ${interval}`);
  if (timesteps.length === 0) return [];
  const first = new Map<number, number>();
  timesteps.forEach((t, i) => {
    if (!first.has(t)) first.set(t, i);
  });
  const index = (t: number): number => first.get(t) as number;
  const start = index(timesteps[0]);
  return timesteps.map((t) => (index(t) - start) % interval === 0);
}

/** GenerateOptions.deepCacheInterval checked against the model: the interval to run (1 = off). */
export function resolveDeepCacheInterval(option: number | undefined, modelHasDeepCache: boolean): number {
  const n = option ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_DEEPCACHE_INTERVAL) {
    throw new PipelineError('bad-option', `deepCacheInterval must be a whole number from 1 (off) to ${MAX_DEEPCACHE_INTERVAL}, got ${String(n)}`);
  }
  if (n > 1 && !modelHasDeepCache) {
    throw new PipelineError(
      'bad-option',
      `deepCacheInterval ${n} needs the DeepCache graphs (a UNet with a deep_features output and a unet_shallow graph), which this export lacks; ` +
        're-export the model with models/export.py --deepcache, or set the interval to 1 (off)',
    );
  }
  return n;
}

/**
 * The deep features of the latest full step, one tensor per UNet call of a step (guidance batched:
 * one [2, …]; split: the negative's and the prompt's, so split equals batched). GPU buffers on
 * WebGPU: a replaced tensor is disposed at once, and dispose() frees the rest (end, failure, cancel).
 */
export class DeepFeatureCache {
  private readonly slots: (RtTensor | null)[];

  constructor(calls: number) {
    this.slots = Array.from({ length: calls }, () => null);
  }

  /** Takes ownership of `features` as call k's cache, disposing the tensor it replaces. */
  set(k: number, features: RtTensor): void {
    const old = this.slots[k];
    this.slots[k] = features;
    if (old && old !== features) old.dispose();
  }

  /** Call k's cached features; a shallow step before any full step is a bug in the schedule. */
  get(k: number): RtTensor {
    const t = this.slots[k];
    if (!t) throw new PipelineError('runtime', `DeepCache: a shallow UNet call (${k}) came before any full step cached its features`);
    return t;
  }

  dispose(): void {
    for (let k = 0; k < this.slots.length; k++) {
      this.slots[k]?.dispose();
      this.slots[k] = null;
    }
  }
}
