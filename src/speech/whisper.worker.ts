/// <reference lib="webworker" />
/**
 * The speech worker: hosts WhisperEngine (transformers.js + onnxruntime-web) off the main thread.
 * All logic is in host.ts; this file only connects it to the worker global.
 */
import { serveWhisper } from './host';
import type { MessageEndpoint } from './protocol';
import { WhisperEngine } from './whisper-engine';

declare const self: DedicatedWorkerGlobalScope;

serveWhisper(self as unknown as MessageEndpoint, (options) => new WhisperEngine(options));
