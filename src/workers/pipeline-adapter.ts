/**
 * Adapts src/pipeline's Ldm3dPipeline to the HostedPipeline interface the worker host uses, so
 * the host (and its tests) do not depend on the pipeline's option names.
 */
import { Ldm3dPipeline } from '../pipeline/pano/pipeline';
import { Ldm3dSrPipeline } from '../pipeline/sr/pipeline';
import { toPanorama } from '../pipeline/postprocess';
import type { HostedPipeline, PipelineLoader } from './hosted-pipeline';
import type { UpscalerLoader } from './sr-host';

export const loadHostedPipeline: PipelineLoader = async (source, backend, hooks) => {
  const pipe = await Ldm3dPipeline.load(source, {
    backend,
    signal: hooks.signal,
    onProgress: (p) => hooks.onProgress?.(p.stage, p.done, p.total),
    // After running out of GPU memory: one stage on the GPU at a time (otherwise the default policy).
    ...(hooks.lowMemory ? { memory: 'staged' as const } : {}),
  });
  const hosted: HostedPipeline = {
    get backend() {
      return pipe.backend;
    },
    get notices() {
      return pipe.notices;
    },
    get runtimeSummary() {
      return pipe.runtimeSummary;
    },
    get supportsDeepCache() {
      return pipe.supportsDeepCache;
    },
    get supportsWrap() {
      return pipe.supportsWrap;
    },
    async generate(params, step) {
      // Counted before the run so an over-long prompt is reported at once, not after the last step.
      // The prompt as sent: the template's words count towards the limit too.
      step.onTokens(pipe.tokenize(pipe.promptToSend(params.prompt, params.promptTemplate ?? true)), pipe.tokenize(params.negativePrompt));
      const out = await pipe.generate({
        prompt: params.prompt,
        negativePrompt: params.negativePrompt,
        steps: params.steps,
        guidance: params.guidance,
        scheduler: params.scheduler,
        seed: params.seed,
        deepCacheInterval: params.deepCacheInterval ?? 1,
        // Absent: the pipeline's default (on where the export has wrapped graphs).
        wrap: params.wrap,
        promptTemplate: params.promptTemplate ?? true,
        signal: step.signal,
        onProgress: (p) => {
          // Copied: the preview is tiny, and its buffer is transferred to the main thread.
          const preview = p.preview ? { width: p.preview.width, height: p.preview.height, rgba: p.preview.rgba.slice() } : null;
          step.onStep(p.step, p.total, preview, p.etaMs);
          // Let the worker handle messages (a cancel) before the next step: on WASM a step may
          // finish without ever yielding to the event loop. setTimeout, not a microtask.
          return new Promise<void>((resolve) => setTimeout(resolve, 0));
        },
      });
      const { rgba } = toPanorama(out);
      return {
        width: out.width,
        height: out.height,
        rgba,
        depth: out.depth,
        depth16: out.depth16,
        tokens: out.tokens,
        timings: roundAll(out.timings),
        sentPrompt: out.settings.sentPrompt,
      };
    },
    async warmUp(signal) {
      await pipe.warmUp(signal);
    },
    dispose: () => pipe.dispose(),
  };
  return hosted;
};

function roundAll(t: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(t)) out[k] = Math.round(v * 10) / 10;
  return out;
}

/** Loads LDM3D-SR for the worker's sharpen jobs (sr-host.ts). */
export const loadHostedUpscaler: UpscalerLoader = async (source, backend, hooks) => {
  const sr = await Ldm3dSrPipeline.load(source, {
    backend,
    signal: hooks.signal,
    onProgress: (p) => hooks.onProgress?.(p.stage, p.done, p.total),
  });
  return sr;
};
