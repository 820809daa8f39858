/**
 * A ModelSource over a folder on disk (CLI, tests). Node only: never import it from browser code.
 *
 *   const source = await folderSource('models/tiny/ldm3d-pano', { verify: true });
 */
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { PipelineError, reasonOf } from '../model/errors';
import type { Manifest, ModelSource } from '../model/manifest';

export interface FolderSourceOptions {
  /** Check each file's sha256 against the manifest when it is read (costs a hash pass). */
  readonly verify?: boolean;
}

/** fs.readFile stops at 2 GiB; a full-size UNet's external data may be larger, so read in chunks. */
async function readLarge(path: string): Promise<Uint8Array> {
  const { size } = await stat(path);
  if (size < 2 ** 30) return new Uint8Array(await readFile(path));
  const out = new Uint8Array(size);
  const fh = await open(path, 'r');
  try {
    const chunk = 2 ** 28;
    for (let off = 0; off < size; ) {
      const { bytesRead } = await fh.read(out, off, Math.min(chunk, size - off), off);
      if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${off} of ${size}`);
      off += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return out;
}

export async function folderSource(dir: string, options: FolderSourceOptions = {}): Promise<ModelSource> {
  const root = resolve(dir);
  const manifestPath = resolve(root, 'manifest.json');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  } catch (e) {
    throw new PipelineError('model-file', `${manifestPath}: cannot read the model manifest (${reasonOf(e)})`, { file: 'manifest.json', cause: e });
  }
  return {
    manifest,
    async read(path: string): Promise<Uint8Array> {
      const full = resolve(root, path);
      if (!full.startsWith(root + sep)) throw new PipelineError('model-file', `${path}: outside the model folder`, { file: path });
      let bytes: Uint8Array;
      try {
        bytes = await readLarge(full);
      } catch (e) {
        const code = (e as { code?: string }).code;
        const why = code === 'ENOENT' ? `missing (${full} does not exist)` : `cannot be read (${reasonOf(e)})`;
        throw new PipelineError('model-file', `${path}: ${why}`, { file: path, cause: e });
      }
      if (options.verify) {
        const want = manifest.files.find((f) => f.path === path)?.sha256;
        const got = createHash('sha256').update(bytes).digest('hex');
        if (want && want !== got) {
          throw new PipelineError('model-file', `${path}: sha256 mismatch (manifest ${want.slice(0, 12)}…, file ${got.slice(0, 12)}…): corrupt or from another export`, { file: path });
        }
      }
      return bytes;
    },
  };
}
