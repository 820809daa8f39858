/** VAE decoder stage: latent_sample [1, 4, h, w] (already ÷ scaling factor) → sample [1, 4, 8h, 8w] in [−1, 1]. */
import { cpuTensor, type OrtRuntime, type OrtSession, type RtTensor } from '../../runtime/ort';
import { PipelineError, reasonOf } from '../../model/errors';
import type { ModelSource, SessionSpec } from '../../model/manifest';
import { circularTiledDecode, decodeLatents, needsTiling, resolveTiling, type DecodedTensor, type VaeTiling } from '../vae-tiling';
import { dataInput, loadStageSession } from './session';
import { wrapFeeds, type WrapFeed } from './wrap';

export interface VaeDecodeOptions {
  /**
   * Decode tile by tile, exactly as diffusers' AutoencoderKL.tiled_decode (vae-tiling.ts): the
   * output differs from the untiled decode by design and equals diffusers with vae.enable_tiling()
   * and these tile sizes. A latent that fits one tile is decoded untiled, as in diffusers.
   * `latentTile` is tile_latent_min_size (tile_sample_min_size = latentTile × vae_scale_factor),
   * `overlap` tile_overlap_factor (default 0.25).
   */
  readonly tiling?: { readonly latentTile: number; readonly overlap?: number } | null;
  /**
   * The latents are a panorama's full width (a cylinder): a wrapped export pads its convolutions
   * circularly along the width; tiled, the tiles (which are not the whole cylinder) get zero
   * padding and the tiling itself wraps around (vae-tiling.ts circularTiledDecode). Default false:
   * zero padding, exactly diffusers. Needs a wrapped graph (manifest "wrap").
   */
  readonly wrap?: boolean;
}

export class VaeDecoderStage {
  private constructor(
    private readonly session: OrtSession,
    private readonly spec: SessionSpec,
    private readonly scale: number,
    private readonly wrap: WrapFeed | null,
  ) {}

  static async load(runtime: OrtRuntime, source: ModelSource): Promise<VaeDecoderStage> {
    const { session, spec, wrap } = await loadStageSession(runtime, source, 'vae_decoder');
    return new VaeDecoderStage(session, spec, source.manifest.vae_scale_factor, wrap);
  }

  /** Whether the graph takes the wrap input (VaeDecodeOptions.wrap may be true). */
  get hasWrap(): boolean {
    return this.wrap !== null;
  }

  /**
   * Untiled, `latents` may live on the GPU. Tiled, it must be a CPU tensor (tiles are cut on the
   * CPU); the tiles go through this one session one at a time (its latent dims are dynamic).
   */
  async decode(latents: RtTensor, options: VaeDecodeOptions = {}): Promise<DecodedTensor> {
    const wrap = options.wrap ?? false;
    // Checked here, not only when a graph runs: a circular tiled decode feeds every tile 0.
    wrapFeeds(this.wrap, wrap, this.spec.file);
    if (!options.tiling) return this.run(latents, wrap);
    let tiling: VaeTiling;
    try {
      tiling = resolveTiling(options.tiling, this.scale);
    } catch (e) {
      throw new PipelineError('bad-option', reasonOf(e));
    }
    const d = latents.dims;
    if (d.length !== 4) throw new PipelineError('runtime', `vae_decoder: latents [${d.join(', ')}] are not [N, C, H, W]`);
    // diffusers decodes a latent that fits one tile untiled; that needs no CPU copy here.
    if (!needsTiling(d[2], d[3], tiling)) return this.run(latents, wrap);
    if (latents.location !== 'cpu') throw new PipelineError('runtime', 'vae_decoder: a tiled decode needs the latents on the CPU');
    const dims = [d[0], d[1], d[2], d[3]] as const;
    // Errors pass through unwrapped, like the untiled run's: the pipeline tells a lost device by them.
    // A tile is not the whole cylinder, so its graph pads with zeros even when the image wraps.
    const decodeTile = (tile: Float32Array, td: readonly [number, number, number, number]): Promise<DecodedTensor> => this.run(cpuTensor('float32', tile, td), false);
    if (wrap) return circularTiledDecode(latents.data as Float32Array, dims, this.scale, tiling, decodeTile);
    return decodeLatents(latents.data as Float32Array, dims, this.scale, tiling, decodeTile);
  }

  private async run(latents: RtTensor, wrap: boolean): Promise<DecodedTensor> {
    const out = await this.session.run({ ...wrapFeeds(this.wrap, wrap, this.spec.file), [dataInput(this.spec, this.wrap)]: latents });
    const t = out[this.spec.outputs[0].name];
    // Outputs stay on the CPU for this session (no gpuOutputs): post-processing is on the CPU.
    return { data: t.data as Float32Array, dims: t.dims };
  }

  dispose(): Promise<void> {
    this.wrap?.dispose();
    return this.session.release();
  }
}
