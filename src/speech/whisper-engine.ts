/**
 * On-device Whisper through @huggingface/transformers' automatic-speech-recognition pipeline.
 *
 * - transformers.js is imported lazily (dynamic import) so the app's first load does not carry it;
 *   the bundler splits it into its own chunk. It resolves onnxruntime-web to the project's single
 *   copy (package.json pins the version transformers.js pins).
 * - The model is downloaded once: transformers.js keeps every file in the browser's Cache API
 *   (`env.useBrowserCache`, cache "transformers-cache"); later loads read it from there, offline too.
 *   Download progress is reported as bytes over all files.
 * - WebGPU when the device has an adapter, else WASM; if creating the WebGPU sessions fails (an
 *   adapter that lacks a feature), it falls back to WASM once instead of failing.
 *
 * Runs where it is created: whisper.worker.ts hosts it off the main thread in the app, the Node
 * tests run it in-process on onnxruntime-node with a tiny random Whisper.
 *
 * @example
 *   const engine = new WhisperEngine({ modelId: 'onnx-community/whisper-tiny.en' });
 *   await engine.load((p) => console.log(`${Math.round(p.fraction * 100)} %`));
 *   const text = await engine.transcribe(pcm16kMono);
 *   await engine.dispose();
 */

import type * as Transformers from '@huggingface/transformers';
import { SpeechError, toSpeechError } from './errors';
import { WHISPER_SAMPLE_RATE } from './resample';

type TransformersModule = typeof Transformers;
type DataType = Transformers.DataType;
type AsrPipeline = Transformers.AutomaticSpeechRecognitionPipeline;

/** English-only tiny Whisper (39 M parameters); the prompt language is English. */
export const DEFAULT_WHISPER_MODEL = 'onnx-community/whisper-tiny.en';

export type WhisperDevice = 'webgpu' | 'wasm' | 'cpu';
export type WhisperDtype = DataType | Record<string, DataType>;

export interface WhisperEngineOptions {
  modelId?: string;
  /** 'auto': WebGPU when an adapter exists, else WASM (in Node: onnxruntime-node's CPU). */
  device?: WhisperDevice | 'auto';
  /** Defaults per device: see defaultDtype(). */
  dtype?: WhisperDtype;
  /** A spoken prompt is a sentence or two; this bounds a runaway decode (Whisper max 448). */
  maxNewTokens?: number;
  /** Where models come from (transformers.js `env`); unset keeps transformers.js' defaults (the Hub). */
  remoteHost?: string;
  allowRemoteModels?: boolean;
  localModelPath?: string;
  allowLocalModels?: boolean;
  /**
   * Where onnxruntime-web's wasm comes from (browsers only). transformers.js points ORT at a CDN
   * when nothing is set. 'bundled' (default) undoes that, so ORT loads the wasm file the bundler
   * emitted next to it, self-hosted like the pipeline worker's; 'cdn' keeps transformers.js'
   * choice; a URL prefix or explicit files are passed to ORT as they are.
   */
  wasmPaths?: 'bundled' | 'cdn' | string | { mjs: string; wasm: string };
}

export interface LoadProgress {
  status: 'download' | 'ready';
  /** Bytes so far and expected, over all of the model's files. */
  loaded: number;
  total: number;
  /** 0..1 */
  fraction: number;
  file?: string;
}

/**
 * WebGPU: fp32 encoder (its convolutions and attention lose accuracy in 4 bits) with a 4-bit
 * decoder (the decoder runs once per token, so its weight reads dominate) as transformers.js'
 * Whisper WebGPU demo does; WASM: 8-bit both, the fastest on CPUs; Node tests: fp32.
 */
export function defaultDtype(device: WhisperDevice): WhisperDtype {
  switch (device) {
    case 'webgpu':
      return { encoder_model: 'fp32', decoder_model_merged: 'q4' };
    case 'wasm':
      return 'q8';
    case 'cpu':
      return 'fp32';
  }
}

function inNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { window?: unknown }).window === 'undefined' && typeof (globalThis as { importScripts?: unknown }).importScripts === 'undefined';
}

export async function pickDevice(): Promise<WhisperDevice> {
  if (inNode()) return 'cpu';
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return 'wasm';
  try {
    return (await gpu.requestAdapter()) ? 'webgpu' : 'wasm';
  } catch {
    return 'wasm';
  }
}

/** Turns transformers.js' per-file events into one byte count over all files. */
export class ProgressAggregator {
  private readonly files = new Map<string, { loaded: number; total: number }>();
  constructor(private readonly onProgress: (p: LoadProgress) => void) {}

  handle(info: Transformers.ProgressInfo): void {
    if (info.status === 'progress_total') {
      this.emit('download', info.loaded, info.total);
    } else if (info.status === 'progress') {
      this.files.set(info.file, { loaded: info.loaded, total: info.total });
      // Only used when this transformers.js sends no progress_total.
      let loaded = 0;
      let total = 0;
      for (const f of this.files.values()) {
        loaded += f.loaded;
        total += f.total;
      }
      this.emit('download', loaded, total, info.file);
    } else if (info.status === 'ready') {
      this.ready();
    }
  }

  ready(): void {
    const last = this.last;
    this.onProgress({ status: 'ready', loaded: last?.loaded ?? 0, total: last?.total ?? 0, fraction: 1 });
  }

  private last: LoadProgress | null = null;
  private emit(status: 'download', loaded: number, total: number, file?: string): void {
    const p: LoadProgress = { status, loaded, total, fraction: total > 0 ? Math.min(1, loaded / total) : 0, ...(file ? { file } : {}) };
    this.last = p;
    this.onProgress(p);
  }
}

/** Removes what Whisper writes for non-speech ("[BLANK_AUDIO]", "(wind blowing)", "♪") and tidies spaces. */
export function cleanTranscript(text: string): string {
  return text
    .replace(/\[[^\]]*\]|\([^)]*\)|[♪♫]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export class WhisperEngine {
  readonly modelId: string;
  private readonly options: WhisperEngineOptions;
  private readonly importTransformers: () => Promise<TransformersModule>;
  private tf: TransformersModule | null = null;
  private asr: AsrPipeline | null = null;
  private loading: Promise<AsrPipeline> | null = null;
  private progressListeners = new Set<(p: LoadProgress) => void>();
  private disposed = false;
  device: WhisperDevice | null = null;

  constructor(
    options: WhisperEngineOptions = {},
    // The literal specifier keeps the bundler's code splitting; tests may pass their own.
    importTransformers: () => Promise<TransformersModule> = () => import('@huggingface/transformers'),
  ) {
    this.options = options;
    this.modelId = options.modelId ?? DEFAULT_WHISPER_MODEL;
    this.importTransformers = importTransformers;
  }

  get loaded(): boolean {
    return this.asr !== null;
  }

  /** Downloads (first time) or reads from cache, and creates the sessions. Safe to call repeatedly. */
  load(onProgress?: (p: LoadProgress) => void): Promise<void> {
    if (this.disposed) return Promise.reject(new SpeechError('aborted', 'WhisperEngine was disposed.'));
    if (onProgress) this.progressListeners.add(onProgress);
    if (this.asr) {
      onProgress?.({ status: 'ready', loaded: 0, total: 0, fraction: 1 });
      this.progressListeners.delete(onProgress!);
      return Promise.resolve();
    }
    this.loading ??= this.doLoad().finally(() => {
      this.loading = null;
      this.progressListeners.clear();
    });
    return this.loading.then(() => undefined);
  }

  private async doLoad(): Promise<AsrPipeline> {
    let tf: TransformersModule;
    try {
      tf = this.tf ??= await this.importTransformers();
    } catch (e) {
      throw toSpeechError(e, 'model-load-failed');
    }
    const o = this.options;
    if (o.remoteHost !== undefined) tf.env.remoteHost = o.remoteHost;
    if (o.allowRemoteModels !== undefined) tf.env.allowRemoteModels = o.allowRemoteModels;
    if (o.localModelPath !== undefined) tf.env.localModelPath = o.localModelPath;
    if (o.allowLocalModels !== undefined) tf.env.allowLocalModels = o.allowLocalModels;
    // Read when the first session is created, so setting it after the import still counts.
    const wasm = tf.env.backends.onnx.wasm;
    if (wasm && !inNode()) {
      const paths = o.wasmPaths ?? 'bundled';
      if (paths === 'bundled') wasm.wasmPaths = undefined;
      else if (paths !== 'cdn') wasm.wasmPaths = paths;
    }

    const aggregator = new ProgressAggregator((p) => this.progressListeners.forEach((l) => l(p)));
    const requested = o.device ?? 'auto';
    const first = requested === 'auto' ? await pickDevice() : requested;
    const attempts: WhisperDevice[] = first === 'webgpu' && requested === 'auto' ? ['webgpu', 'wasm'] : [first];
    let lastError: unknown;
    for (const device of attempts) {
      try {
        const asr = (await tf.pipeline('automatic-speech-recognition', this.modelId, {
          device,
          dtype: o.dtype ?? defaultDtype(device),
          progress_callback: (info: Transformers.ProgressInfo) => aggregator.handle(info),
        })) as AsrPipeline;
        if (this.disposed) {
          await asr.dispose();
          throw new SpeechError('aborted', 'WhisperEngine was disposed while loading.');
        }
        this.device = device;
        this.asr = asr;
        aggregator.ready();
        return asr;
      } catch (e) {
        if (e instanceof SpeechError) throw e;
        lastError = e;
      }
    }
    throw toSpeechError(lastError, 'model-load-failed');
  }

  /**
   * Transcribes 16 kHz mono PCM (at most 30 s: Whisper's window; push-to-talk stops well before).
   * Returns the raw text; the abort signal stops decoding at the next token.
   */
  async transcribe(pcm: Float32Array, signal?: AbortSignal): Promise<string> {
    if (pcm.length === 0) throw new SpeechError('no-speech', 'Empty audio segment.');
    if (pcm.length > 30 * WHISPER_SAMPLE_RATE) pcm = pcm.subarray(0, 30 * WHISPER_SAMPLE_RATE);
    await this.load();
    const asr = this.asr!;
    const tf = this.tf!;
    signal?.throwIfAborted();
    // transformers.js takes no abort signal, and its Whisper generate() drops custom stopping
    // criteria (4.3.1); logits processors do get through. Once aborted, this one leaves only the
    // end-of-text token possible, so decoding ends at the next token.
    const eos = asr.model.generation_config?.eos_token_id;
    const eosId = Array.isArray(eos) ? eos[0] : eos;
    class EndOnAbort extends tf.LogitsProcessor {
      override _call(inputIds: bigint[][], logits: Transformers.Tensor): Transformers.Tensor {
        if (signal?.aborted && typeof eosId === 'number') {
          for (let i = 0; i < inputIds.length; i++) {
            const row = (logits as unknown as Transformers.Tensor[])[i].data as Float32Array;
            row.fill(-Infinity);
            row[eosId] = 0;
          }
        }
        return logits;
      }
    }
    let output: unknown;
    try {
      const processors = new tf.LogitsProcessorList();
      if (signal) processors.push(new EndOnAbort());
      output = await asr(pcm, {
        max_new_tokens: this.options.maxNewTokens ?? 96,
        return_timestamps: false,
        ...(signal ? { logits_processor: processors } : {}),
      } as Record<string, unknown>);
    } catch (e) {
      throw toSpeechError(e, 'recognition-failed');
    }
    if (signal?.aborted) throw new SpeechError('aborted');
    const text = (Array.isArray(output) ? output[0] : output) as { text?: unknown } | undefined;
    if (typeof text?.text !== 'string') throw new SpeechError('recognition-failed', 'The pipeline returned no text.');
    return text.text;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const asr = this.asr ?? (await this.loading?.catch(() => null)) ?? null;
    this.asr = null;
    await asr?.dispose();
  }
}
