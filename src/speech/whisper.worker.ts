/// <reference lib="webworker" />
/**
 * The speech worker: hosts WhisperEngine (transformers.js + onnxruntime-web) off the main thread.
 * All logic is in whisper-worker.ts; this file only connects it to the worker global.
 */
import { WhisperEngine } from './whisper-engine';
import { serveWhisper, type MessageEndpoint } from './whisper-worker';

declare const self: DedicatedWorkerGlobalScope;

serveWhisper(self as unknown as MessageEndpoint, (options) => new WhisperEngine(options));
