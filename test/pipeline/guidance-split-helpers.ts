/** Shared by guidance-split.wasm.test.ts and guidance-split.webgpu.test.ts. */
import { vi } from 'vitest';
import type { RtTensor } from '../../src/runtime/ort';
import { UNetStage, type UNetShape } from '../../src/pipeline/stages/unet';

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
