// The real on-device recogniser code path (@huggingface/transformers' ASR pipeline on
// onnxruntime-node) on a tiny random-weight Whisper built by models/whisper/make_tiny_whisper.py,
// checked against transformers' PyTorch implementation on the same weights
// (models/whisper/golden.py -> test/speech/data/whisper-tiny-random-golden.json).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transformers from '@huggingface/transformers';
import { SpeechError } from '../../src/speech/errors';
import { WhisperRecognizer } from '../../src/speech/recognizer';
import { WhisperEngine, type LoadProgress, type WhisperEngineOptions } from '../../src/speech/whisper-engine';
import { WhisperWorkerClient } from '../../src/speech/client';
import { serveWhisper } from '../../src/speech/host';
import type { MessageEndpoint } from '../../src/speech/protocol';
import { loadFixture, TINY_WHISPER_DIR, TINY_WHISPER_ID } from './helpers';

interface Golden {
  wav: string;
  max_new_tokens: number;
  prompt_tokens: number[];
  features: { shape: number[]; mean: number; std: number; samples: [number, number, number][] };
  encoder: { shape: number[]; mean: number; std: number; samples: [number, number, number][] };
  tokens: number[];
  text: string;
  silence_tokens: number[];
  generate_tokens?: number[];
  onnx_tokens?: number[];
}

/** The onnxruntime session object transformers.js keeps per model file. */
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>>;
}

const golden = JSON.parse(readFileSync(join(TINY_WHISPER_DIR, 'whisper-tiny-random-golden.json'), 'utf8')) as Golden;
const MODEL_DIR = join(TINY_WHISPER_DIR, TINY_WHISPER_ID);

const options: WhisperEngineOptions = {
  modelId: TINY_WHISPER_ID,
  device: 'cpu',
  dtype: 'fp32',
  maxNewTokens: golden.max_new_tokens,
  localModelPath: TINY_WHISPER_DIR + '/',
  allowLocalModels: true,
  allowRemoteModels: false, // nothing may come from the network in tests
};

const cabin = loadFixture('cabin-16k.wav');

describe('golden file', () => {
  it('was produced by a reference whose generate(), step-by-step loop and onnxruntime agree', () => {
    expect(golden.wav).toBe('test/fixtures/audio/cabin-16k.wav');
    expect(golden.generate_tokens).toEqual(golden.tokens);
    expect(golden.onnx_tokens).toEqual(golden.tokens);
    // The audio changes the decode: silence gives another token sequence.
    expect(golden.silence_tokens).not.toEqual(golden.tokens);
  });
});

describe('Whisper through @huggingface/transformers (tiny random weights)', () => {
  let asr: transformers.AutomaticSpeechRecognitionPipeline;

  beforeAll(async () => {
    transformers.env.allowRemoteModels = false;
    transformers.env.localModelPath = TINY_WHISPER_DIR + '/';
    asr = (await transformers.pipeline('automatic-speech-recognition', TINY_WHISPER_ID, {
      device: 'cpu',
      dtype: 'fp32',
    })) as transformers.AutomaticSpeechRecognitionPipeline;
  });
  afterAll(async () => {
    await asr?.dispose();
  });

  it('computes the same log-mel features as transformers\' Python WhisperFeatureExtractor', async () => {
    const { input_features } = (await asr.processor(cabin.channels[0])) as { input_features: transformers.Tensor };
    expect(input_features.dims).toEqual(golden.features.shape);
    const data = input_features.data as Float32Array;
    const frames = golden.features.shape[2];
    for (const [mel, frame, value] of golden.features.samples) expect(data[mel * frames + frame]).toBeCloseTo(value, 3);
    const mean = data.reduce((a, b) => a + b, 0) / data.length;
    expect(mean).toBeCloseTo(golden.features.mean, 4);
  });

  it('runs the ONNX encoder to PyTorch\'s last_hidden_state', async () => {
    const { input_features } = (await asr.processor(cabin.channels[0])) as { input_features: transformers.Tensor };
    // transformers.js opened exactly the two sessions of a Seq2Seq Whisper.
    const sessions = (asr.model as unknown as { sessions: Record<string, OrtSession> }).sessions;
    expect(Object.keys(sessions).sort()).toEqual(['decoder_model_merged', 'model']);
    const { last_hidden_state: hidden } = await sessions.model.run({ input_features: input_features.ort_tensor });
    expect([...hidden.dims]).toEqual(golden.encoder.shape);
    const d = golden.encoder.shape[2];
    for (const [t, c, value] of golden.encoder.samples) expect(hidden.data[t * d + c]).toBeCloseTo(value, 3);
  });

  it('greedy-decodes exactly the reference tokens, with the KV cache of the merged decoder', async () => {
    const { input_features } = (await asr.processor(cabin.channels[0])) as { input_features: transformers.Tensor };
    const ids = (await asr.model.generate({ inputs: input_features, max_new_tokens: golden.max_new_tokens } as never)) as transformers.Tensor;
    const seq = (ids.tolist() as bigint[][])[0].map(Number);
    expect(seq.slice(0, golden.prompt_tokens.length)).toEqual(golden.prompt_tokens);
    expect(seq.slice(golden.prompt_tokens.length)).toEqual(golden.tokens);
  });
});

describe('WhisperEngine (the shipped code path)', () => {
  let engine: WhisperEngine;
  const events: LoadProgress[] = [];

  beforeAll(async () => {
    engine = new WhisperEngine(options);
    await engine.load((p) => events.push(p));
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('reports download progress in bytes over all model files, ending at 100 %', () => {
    const onDisk = (rel: string) => statSync(join(MODEL_DIR, rel)).size;
    const files = [...readdirSync(MODEL_DIR).filter((f) => f.endsWith('.json')), ...readdirSync(join(MODEL_DIR, 'onnx')).map((f) => `onnx/${f}`)];
    const expectedTotal = files.reduce((n, f) => n + onDisk(f), 0);
    const downloads = events.filter((e) => e.status === 'download');
    expect(downloads.length).toBeGreaterThan(0);
    const last = downloads.at(-1)!;
    expect(last.total).toBe(expectedTotal);
    expect(last.loaded).toBe(expectedTotal);
    for (let i = 1; i < downloads.length; i++) expect(downloads[i].fraction).toBeGreaterThanOrEqual(0);
    expect(events.at(-1)).toMatchObject({ status: 'ready', fraction: 1 });
    expect(engine.device).toBe('cpu');
  });

  it('transcribes the speech fixture to the reference text', async () => {
    expect(await engine.transcribe(cabin.channels[0])).toBe(golden.text);
  });

  it('decodes silence to the reference silence tokens (the audio reaches the decoder)', async () => {
    const tok = await transformers.AutoTokenizer.from_pretrained(TINY_WHISPER_ID);
    const expected = tok.decode(golden.silence_tokens, { skip_special_tokens: true });
    expect(await engine.transcribe(new Float32Array(16000))).toBe(expected);
  });

  it('stops decoding at the next token when aborted', async () => {
    let reads = 0;
    // An AbortSignal that turns aborted after the third token.
    const signal = {
      get aborted() {
        return ++reads > 3;
      },
      throwIfAborted() {},
      addEventListener() {},
      removeEventListener() {},
    } as unknown as AbortSignal;
    await expect(engine.transcribe(cabin.channels[0], signal)).rejects.toMatchObject({ kind: 'aborted' });
    expect(reads).toBeLessThan(golden.max_new_tokens);
  });

  it('WhisperRecognizer cleans the text and rejects an empty segment', async () => {
    const rec = new WhisperRecognizer(engine);
    expect(rec.ready).toBe(true);
    expect(await rec.transcribe(cabin.channels[0])).toBe(golden.text.replace(/\s+/g, ' ').trim());
    await expect(rec.transcribe(new Float32Array(0))).rejects.toMatchObject({ kind: 'no-speech' });
  });

  it('fails a missing model with model-load-failed, not a hang or a network request', async () => {
    const broken = new WhisperEngine({ ...options, modelId: 'no-such-model' });
    const err = await broken.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpeechError);
    expect((err as SpeechError).kind).toBe('model-load-failed');
    await broken.dispose();
  });
});

describe('Whisper worker protocol (both ends in-process over a MessageChannel, real engine)', () => {
  it('loads with progress, transcribes, and disposes', async () => {
    const { port1, port2 } = new MessageChannel();
    port1.start();
    port2.start();
    const stop = serveWhisper(port2 as unknown as MessageEndpoint, (o) => new WhisperEngine(o));
    const client = new WhisperWorkerClient(port1 as unknown as MessageEndpoint, options);
    const progress: LoadProgress[] = [];
    await client.load((p) => progress.push(p));
    expect(client.loaded).toBe(true);
    expect(client.device).toBe('cpu');
    expect(progress.at(-1)).toMatchObject({ status: 'ready', fraction: 1 });
    const pcm = cabin.channels[0].slice();
    expect(await client.transcribe(pcm)).toBe(golden.text);
    expect(pcm.length).toBe(cabin.channels[0].length); // the caller's buffer was not transferred away
    await client.dispose();
    await expect(client.transcribe(pcm)).rejects.toMatchObject({ kind: 'aborted' });
    stop();
    port1.close();
    port2.close();
  });
});
