/** Shared by guidance-split.wasm.test.ts and guidance-split.webgpu.test.ts. */
import { vi } from 'vitest';
import type { RtTensor } from '../../src/runtime/ort';
import type { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { UNetStage, type UNetShape } from '../../src/pipeline/stages/unet';
import { caseOptions } from './memory-helpers';

export interface UNetCall {
  sample: number[];
  hidden: number[];
  /** encoder_hidden_states' values when it is a CPU tensor (WASM), else null. */
  hiddenData: Float32Array | null;
}

export interface UNetSpy {
  /** Every UNet call, in order, recorded once it resolved. */
  readonly calls: UNetCall[];
  /** The `shape` option of every UNet session created (its freeDimensionOverrides). */
  readonly shapes: Array<UNetShape | undefined>;
}

/** Records every UNet call and session (the real ones still run); `after` runs once a call has resolved. */
export function spyOnUNet(after?: (calls: UNetCall[]) => void): UNetSpy {
  const calls: UNetCall[] = [];
  const shapes: Array<UNetShape | undefined> = [];
  const run = UNetStage.prototype.run;
  const load = UNetStage.load;
  vi.spyOn(UNetStage.prototype, 'run').mockImplementation(async function (this: UNetStage, sample: RtTensor, t: number, hidden: RtTensor, extra) {
    const out = await run.call(this, sample, t, hidden, extra);
    calls.push({ sample: [...sample.dims], hidden: [...hidden.dims], hiddenData: hidden.location === 'cpu' ? (hidden.data as Float32Array).slice() : null });
    after?.(calls);
    return out;
  });
  vi.spyOn(UNetStage, 'load').mockImplementation((runtime, source, options) => {
    shapes.push(options?.shape);
    return load.call(UNetStage, runtime, source, options);
  });
  return { calls, shapes };
}

/**
 * Runs golden case ddim-20-cfg7 with split guidance and cancels right after step 2's uncond call
 * (the third UNet call), while its output is alive and before the cond call. Returns what the
 * generation rejected with and the UNet calls that ran; the UNet spy stays installed.
 */
export async function cancelBetweenCalls(pipe: Ldm3dPipeline): Promise<{ err: unknown; spy: UNetSpy }> {
  const controller = new AbortController();
  const spy = spyOnUNet((calls) => (calls.length === 3 ? controller.abort() : undefined));
  const err = await pipe.generate(caseOptions('ddim-20-cfg7', { signal: controller.signal })).catch((e: unknown) => e);
  return { err, spy };
}
