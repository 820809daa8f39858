/** Creating one stage's ORT session from a ModelSource: the graph plus its external-data files. */
import type { OrtRuntime, OrtSession } from '../../runtime/ort';
import { PipelineError } from '../../model/errors';
import { wrapInputOf, type ModelSource, type SessionName, type SessionSpec } from '../../model/manifest';
import { readModelFile } from '../model-files';
import { WrapFeed } from './wrap';

export async function loadStageSession(
  runtime: OrtRuntime,
  source: ModelSource,
  name: SessionName,
  options: { gpuOutputs?: boolean; freeDimensionOverrides?: Readonly<Record<string, number>> } = {},
): Promise<{ session: OrtSession; spec: SessionSpec; wrap: WrapFeed | null }> {
  const spec = source.manifest.sessions[name];
  if (!spec) throw new PipelineError('model-file', `manifest.json: no "${name}" session`, { file: 'manifest.json' });
  const model = await readModelFile(source, spec.file);
  // External data is referenced by a location relative to the graph's folder.
  const folder = spec.file.includes('/') ? spec.file.slice(0, spec.file.lastIndexOf('/') + 1) : '';
  const externalData = await Promise.all(
    spec.external_data.map(async (location) => ({ path: location, data: await readModelFile(source, folder + location) })),
  );
  const session = await runtime.createSession({
    label: name,
    file: spec.file,
    model,
    externalData,
    gpuOutputs: options.gpuOutputs,
    freeDimensionOverrides: options.freeDimensionOverrides,
  });
  for (const input of spec.inputs) {
    if (!session.inputNames.includes(input.name)) {
      await session.release();
      throw new PipelineError('model-file', `${spec.file}: the graph has no input "${input.name}" (it has ${session.inputNames.join(', ')})`, { file: spec.file });
    }
  }
  // The manifest may leave the wrap input out of `inputs`: the graph itself is what must take it.
  const wrapInput = wrapInputOf(source.manifest, name);
  if (wrapInput !== null && !session.inputNames.includes(wrapInput)) {
    await session.release();
    throw new PipelineError('model-file', `${spec.file}: manifest.json lists it as wrapped, but the graph has no "${wrapInput}" input (it has ${session.inputNames.join(', ')})`, { file: spec.file });
  }
  return { session, spec, wrap: wrapInput === null ? null : new WrapFeed(wrapInput) };
}

/**
 * The graph's data input: the first declared input that is not the wrap input (a wrapped export
 * may list circular_pad anywhere among `inputs`).
 */
export function dataInput(spec: SessionSpec, wrap: WrapFeed | null): string {
  const input = spec.inputs.find((i) => i.name !== wrap?.input);
  if (!input) throw new PipelineError('model-file', `${spec.file}: the manifest declares no data input`, { file: spec.file });
  return input.name;
}
