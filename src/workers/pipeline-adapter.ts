/**
 * Adapts src/pipeline's LDM3D pipeline to the HostedPipeline interface the worker host uses.
 * TEMPORARY: written before src/pipeline exported its pipeline class; replaced once it does.
 */
import type { PipelineLoader } from './hosted-pipeline';

export const loadHostedPipeline: PipelineLoader = async () => {
  throw new Error('the LDM3D pipeline is not built yet (src/pipeline has no pipeline class)');
};
