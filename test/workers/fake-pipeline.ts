/**
 * A HostedPipeline for worker tests: no ONNX, but it behaves like the real one where the host
 * cares — it yields to the event loop between steps (so cancel arrives), honours the abort
 * signal, can lose its device at a chosen step, and derives its pixels from the request so tests
 * can tell results apart. Its output is not a model's output and no test treats it as one.
 */
import type { ModelSource } from '../../src/model/manifest';
import { applyPromptTemplate } from '../../src/pipeline/prompt-template';
import { depthTo16, type HostedPipeline, type PipelineLoader, type PipelineOutput, type StepHooks } from '../../src/workers/hosted-pipeline';
import type { Backend, BackendPreference, GenerateParams } from '../../src/workers/protocol';

export interface FakeControls {
  /** Step at which the next run fails with a lost device (consumed once). */
  loseDeviceAtStep: number | null;
  /** Pretend WebGPU is missing: 'auto' falls back to wasm with a notice. */
  webgpu: boolean;
  loads: number;
  disposals: number;
  /** Files the loader read through the ModelSource. */
  readonly read: string[];
  /** Milliseconds each step waits (default 1). */
  stepMs?: number;
  /** Called at every step, before the step's callback; lets a test act mid-run. */
  onStep?: (step: number) => void;
  /** The loaded model has the DeepCache graphs (HostedPipeline.supportsDeepCache). */
  deepCache: boolean;
  /** What the last generate call received. */
  lastParams: GenerateParams | null;
}

export function fakeControls(): FakeControls {
  return { loseDeviceAtStep: null, webgpu: true, loads: 0, disposals: 0, read: [], deepCache: false, lastParams: null };
}

const tick = (ms = 1) => new Promise<void>((r) => setTimeout(r, ms));

export function fakeLoader(c: FakeControls): PipelineLoader {
  return async (source: ModelSource, pref: BackendPreference) => {
    // Read what a real loader reads, so the model store's lazy path is exercised too.
    for (const s of Object.values(source.manifest.sessions)) {
      if (!s || s.file.startsWith('vae_encoder')) continue;
      await source.read(s.file);
      c.read.push(s.file);
    }
    c.loads++;
    const notices: string[] = [];
    let backend: Backend = pref === 'wasm' ? 'wasm' : 'webgpu';
    if (backend === 'webgpu' && !c.webgpu) {
      if (pref === 'webgpu') throw new Error('WebGPU is not available in this browser');
      backend = 'wasm';
      notices.push('WebGPU unavailable — running on WASM (slower)');
    }
    const { width, height } = source.manifest.image;
    const pipeline: HostedPipeline = {
      backend,
      notices,
      runtimeSummary: `fake ${backend} runtime`,
      supportsDeepCache: c.deepCache,
      async generate(p: GenerateParams, hooks: StepHooks): Promise<PipelineOutput> {
        c.lastParams = p;
        // As the real pipeline (deepcache.ts resolveDeepCacheInterval): an interval needs the graphs.
        if ((p.deepCacheInterval ?? 1) > 1 && !c.deepCache) throw Object.assign(new Error('deepCacheInterval needs the DeepCache graphs'), { name: 'PipelineError', code: 'bad-option' });
        const count = (s: string) => (s.trim() === '' ? 2 : s.trim().split(/\s+/).length + 2);
        const prompt = { count: count(p.prompt), max: 77 };
        const negative = { count: count(p.negativePrompt), max: 77 };
        hooks.onTokens(prompt, negative);
        for (let step = 1; step <= p.steps; step++) {
          await tick(c.stepMs);
          c.onStep?.(step);
          if (hooks.signal.aborted) throw new DOMException('cancelled', 'AbortError');
          if (c.loseDeviceAtStep === step) {
            c.loseDeviceAtStep = null;
            throw new Error("WebGPU device was lost: 'destroyed'");
          }
          const preview = new Uint8ClampedArray(4 * 4 * 2).fill(step);
          hooks.onStep(step, p.steps, { width: 4, height: 2, rgba: preview });
        }
        const rgba = new Uint8ClampedArray(width * height * 4).fill(p.seed % 256);
        const depth = new Float32Array(width * height).fill(0.5);
        // As the real pipeline: the manifest's template, unless the request turns it off.
        const sentPrompt = applyPromptTemplate(p.promptTemplate === false ? null : source.manifest.prompt_template, p.prompt);
        return { width, height, rgba, depth, depth16: depthTo16(depth), tokens: { prompt, negative }, timings: { unetMs: 1 }, sentPrompt };
      },
      async dispose() {
        c.disposals++;
      },
    };
    return pipeline;
  };
}
