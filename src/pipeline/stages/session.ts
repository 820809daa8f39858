/** Creating one stage's ORT session from a ModelSource: the graph plus its external-data files. */
import type { OrtRuntime, OrtSession } from '../../runtime/ort';
import { PipelineError } from '../errors';
import type { ModelSource, SessionName, SessionSpec } from '../manifest';
import { readModelFile } from '../model-files';

export async function loadStageSession(
  runtime: OrtRuntime,
  source: ModelSource,
  name: SessionName,
  options: { gpuOutputs?: boolean; freeDimensionOverrides?: Readonly<Record<string, number>> } = {},
): Promise<{ session: OrtSession; spec: SessionSpec }> {
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
  return { session, spec };
}
