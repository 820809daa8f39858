/**
 * Reading a model's files through a ModelSource with errors that name the file and the reason.
 * (Download, caching and sha256 checks are the model store's job; this only catches what is
 * still wrong when the bytes arrive: a missing file, or a size that contradicts the manifest.)
 */
import { PipelineError, reasonOf } from '../model/errors';
import { checkWrap, type Manifest, type ModelSource, type SessionName } from '../model/manifest';
import { checkPromptTemplate } from './prompt-template';

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
  checkDeepCache(m, bad);
  checkWrap(m);
  checkPromptTemplate(m);
  const missing = m.wrap ? panoWrapSessions(m).filter((s) => !m.wrap!.sessions.includes(s)) : [];
  // A panorama wrapped in the UNet but not in the decoder (or the shallow branch) would have a seam
  // after all; such an export is a mistake to report, not a mode to run.
  if (missing.length) bad(`"wrap" lists ${m.wrap!.sessions.join(', ')} but not ${missing.join(', ')}: a panorama needs every stage wrapped (re-export with models/export.py --wrap)`);
}

/** The sessions a text → panorama run feeds the wrap input to (DeepCache's shallow UNet too). */
export function panoWrapSessions(m: Manifest): SessionName[] {
  return ['unet', 'vae_decoder', ...(m.deepcache ? [m.deepcache.shallow_session] : [])];
}

/** The DeepCache graphs' contract (manifest.ts DeepCacheSpec): both graphs present and wired by name. */
function checkDeepCache(m: Manifest, bad: (what: string) => never): void {
  const dc = m.deepcache;
  const fix = 're-export with models/export.py --deepcache';
  if (!dc) {
    if (m.sessions.unet_shallow) bad(`has a "unet_shallow" session but no "deepcache" entry to drive it (${fix})`);
    return;
  }
  if (typeof dc.feature !== 'string' || !dc.feature) bad('deepcache.feature must name the deep-features tensor');
  if (!Number.isInteger(dc.cache_branch_id) || dc.cache_branch_id < 0) bad(`deepcache.cache_branch_id must be a whole number ≥ 0, got ${String(dc.cache_branch_id)}`);
  if (!(typeof dc.shallow_flops_share === 'number' && dc.shallow_flops_share > 0 && dc.shallow_flops_share <= 1)) {
    bad(`deepcache.shallow_flops_share must be in (0, 1], got ${String(dc.shallow_flops_share)}`);
  }
  if (dc.shallow_session === 'unet' || !(typeof dc.shallow_session === 'string' && dc.shallow_session in m.sessions)) {
    bad(`"deepcache" names the shallow session ${JSON.stringify(dc.shallow_session)}, but there is no such session (an incomplete export: ${fix})`);
  }
  const shallow = m.sessions[dc.shallow_session];
  const unet = m.sessions.unet;
  if (!shallow || !unet) return;
  if (!unet.outputs.some((o) => o.name === dc.feature)) {
    bad(`"deepcache" is set, but the unet graph has no "${dc.feature}" output (it has ${unet.outputs.map((o) => o.name).join(', ')}; ${fix})`);
  }
  if (!unet.outputs.some((o) => o.name !== dc.feature)) bad(`the unet graph has no output besides "${dc.feature}"`);
  for (const input of ['sample', 'timestep', 'encoder_hidden_states', dc.feature]) {
    if (!shallow.inputs.some((i) => i.name === input)) bad(`the ${dc.shallow_session} session has no "${input}" input (${fix})`);
  }
  if (!shallow.outputs.some((o) => o.name === 'out_sample')) bad(`the ${dc.shallow_session} session has no "out_sample" output (${fix})`);
}
