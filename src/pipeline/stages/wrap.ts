/**
 * The wrap input of one wrapped graph (manifest.ts WrapSpec): float32 [1], 1 = circular padding
 * along the width, 0 = zero padding (diffusers). Both values are made once per session and live and
 * die with it, so a denoise loop allocates nothing per step for it. They are CPU tensors on every
 * back end: ORT uploads four bytes per run, which is nothing next to a UNet call, and a CPU tensor
 * cannot be lost with the device.
 */
import { cpuTensor, type RtTensor } from '../../runtime/ort';
import { PipelineError } from '../../model/errors';

export class WrapFeed {
  private readonly on: RtTensor;
  private readonly off: RtTensor;

  constructor(readonly input: string) {
    this.on = cpuTensor('float32', new Float32Array([1]), [1]);
    this.off = cpuTensor('float32', new Float32Array([0]), [1]);
  }

  /** The feed for a run with wrap on or off. */
  feed(wrap: boolean): Record<string, RtTensor> {
    return { [this.input]: wrap ? this.on : this.off };
  }

  dispose(): void {
    this.on.dispose();
    this.off.dispose();
  }
}

/**
 * The feeds that make a run wrap or not: `{}` for a graph without the input (only wrap off can run
 * there: it IS zero padding), the input's tensor otherwise. Wrap on for an unwrapped graph is a bug
 * in the caller (the pipeline checks supportsWrap first), reported instead of silently ignored.
 */
export function wrapFeeds(feed: WrapFeed | null, wrap: boolean, file: string): Record<string, RtTensor> {
  if (feed) return feed.feed(wrap);
  if (wrap) throw new PipelineError('bad-option', `${file}: this graph has no wrap padding (export it with models/export.py --wrap)`, { file });
  return {};
}
