/**
 * Reading a model's files through a ModelSource with errors that name the file and the reason.
 * (Download, caching and sha256 checks are the model store's job; this only catches what is
 * still wrong when the bytes arrive: a missing file, or a size that contradicts the manifest.)
 */
import { PipelineError, reasonOf } from './errors';
import type { Manifest, ModelSource } from './manifest';

/** The tokenizer files the pipeline reads (manifest paths). */
export const TOKENIZER_FILES = ['tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json'] as const;

export async function readModelFile(source: ModelSource, path: string): Promise<Uint8Array> {
  const entry = source.manifest.files.find((f) => f.path === path);
  if (!entry) throw new PipelineError('model-file', `${path}: not listed in manifest.json`, { file: path });
  let bytes: Uint8Array;
  try {
    bytes = await source.read(path);
  } catch (e) {
    if (e instanceof PipelineError) throw e;
    throw new PipelineError('model-file', `${path}: cannot be read (${reasonOf(e)})`, { file: path, cause: e });
  }
  if (bytes.byteLength !== entry.bytes) {
    throw new PipelineError(
      'model-file',
      `${path}: ${bytes.byteLength} bytes, but manifest.json says ${entry.bytes} (truncated or a different export)`,
      { file: path },
    );
  }
  return bytes;
}

/** manifest.json problems the pipeline cannot work around, named precisely. */
export function checkManifest(m: Manifest): void {
  const bad = (what: string): never => {
    throw new PipelineError('model-file', `manifest.json: ${what}`, { file: 'manifest.json' });
  };
  if (m.format !== 'ldm3d-xr-manifest@1') bad(`unknown format ${JSON.stringify(m.format)} (expected "ldm3d-xr-manifest@1")`);
  if (m.pipeline !== 'ldm3d-pano') bad(`pipeline is ${JSON.stringify(m.pipeline)}; this pipeline runs "ldm3d-pano"`);
  for (const s of ['text_encoder', 'unet', 'vae_decoder'] as const) if (!m.sessions[s]) bad(`no "${s}" session`);
  if (m.vae_out_channels !== 4) bad(`vae_out_channels is ${m.vae_out_channels}; LDM3D-pano decodes RGB + depth (4)`);
  if (m.unet_in_channels !== m.latent_channels) bad(`unet_in_channels ${m.unet_in_channels} ≠ latent_channels ${m.latent_channels}`);
  for (const f of TOKENIZER_FILES) if (!m.tokenizer.files.includes(f)) bad(`tokenizer.files lacks ${f}`);
}
