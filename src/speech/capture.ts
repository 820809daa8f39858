/**
 * Microphone capture: getUserMedia -> AudioContext at the device's own rate -> AudioWorklet (or a
 * ScriptProcessorNode where AudioWorklet is missing) -> raw Float32 chunks, one array per channel.
 *
 * A thin browser layer on purpose: no resampling and no detection happen here (resample.ts and vad.ts
 * are pure and tested on real audio). What this layer owns is turning the browser's failures into
 * SpeechErrors a person can act on:
 *   NotAllowedError / SecurityError          -> 'permission-denied'
 *   NotFoundError / OverconstrainedError     -> 'no-device'
 *   NotReadableError / AbortError            -> 'device-busy'
 *   no navigator.mediaDevices (insecure page) -> 'unsupported'
 *   digital silence, or no data, for `silenceTimeoutMs` -> 'no-audio' (a muted mic opens fine)
 *   the track ends while recording            -> 'no-device' (unplugged)
 */

import { SpeechError, type SpeechErrorKind } from './errors';

export interface AudioChunk {
  /** One array per channel, same length, samples in [-1, 1]. */
  channels: Float32Array[];
  sampleRate: number;
}

export interface MicrophoneOptions {
  onChunk: (chunk: AudioChunk) => void;
  /** Failures after the microphone opened ('no-audio', 'no-device'); capture keeps running, the caller decides. */
  onError?: (error: SpeechError) => void;
  /** 'no-audio' when the signal stays below `silenceLevel` (or no data arrives) this long. */
  silenceTimeoutMs?: number;
  /** Peak amplitude under which the input counts as digital silence (-80 dBFS). */
  silenceLevel?: number;
  /** Frames per chunk handed to onChunk (~43 ms at 48 kHz): few messages, low latency. */
  chunkFrames?: number;
  deviceId?: string;
  /** The browser's objects, replaceable for tests and for other hosts. */
  mediaDevices?: Pick<MediaDevices, 'getUserMedia'>;
  AudioContext?: new () => AudioContext;
  /** Force the ScriptProcessorNode path (also used when AudioWorklet is missing). */
  forceScriptProcessor?: boolean;
}

export interface MicrophoneCapture {
  readonly sampleRate: number;
  readonly method: 'audio-worklet' | 'script-processor';
  /** Stops the tracks and closes the context; samples still buffered in the worklet are delivered first. */
  stop(): Promise<void>;
}

/** Maps getUserMedia's DOMException names to our kinds. */
export function captureErrorKind(e: unknown): SpeechErrorKind {
  const name = typeof e === 'object' && e !== null ? String((e as { name?: unknown }).name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError': // older Chrome
    case 'SecurityError':
      return 'permission-denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'no-device';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'device-busy';
    case 'TypeError':
    case 'NotSupportedError':
      return 'unsupported';
    default:
      return 'device-busy';
  }
}

function toCaptureError(e: unknown): SpeechError {
  const detail = e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e)
    ? `${(e as Error).name}: ${(e as Error).message}`
    : String(e);
  return new SpeechError(captureErrorKind(e), detail, { cause: e });
}

export const PROCESSOR_NAME = 'ldm3d-mic-capture';

/**
 * Runs on the audio rendering thread. It batches the 128-frame render quanta into chunks so the main
 * thread gets ~20 messages a second rather than ~375, and transfers (not copies) the buffers.
 */
export const WORKLET_SOURCE = `
class MicCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.chunkFrames;
    this.buf = null;
    this.n = 0;
    this.port.onmessage = (e) => {
      if (e.data === 'flush') {
        if (this.buf && this.n > 0) {
          const part = this.buf.map((b) => b.slice(0, this.n));
          this.port.postMessage(part, part.map((b) => b.buffer));
        }
        this.buf = null;
        this.n = 0;
        this.port.postMessage('flushed');
      }
    };
  }
  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    if (!this.buf || this.buf.length !== input.length) {
      this.buf = input.map(() => new Float32Array(this.size));
      this.n = 0;
    }
    const frames = input[0].length;
    let off = 0;
    while (off < frames) {
      const take = Math.min(frames - off, this.size - this.n);
      for (let c = 0; c < input.length; c++) this.buf[c].set(input[c].subarray(off, off + take), this.n);
      this.n += take;
      off += take;
      if (this.n === this.size) {
        const full = this.buf;
        this.port.postMessage(full, full.map((b) => b.buffer));
        this.buf = input.map(() => new Float32Array(this.size));
        this.n = 0;
      }
    }
    return true;
  }
}
registerProcessor('${PROCESSOR_NAME}', MicCapture);
`;

/** The worklet module is the same for every capture: one Blob URL per page. */
let workletUrl: string | null = null;
function getWorkletUrl(): string {
  workletUrl ??= URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: 'text/javascript' }));
  return workletUrl;
}

/**
 * Opens the microphone and starts delivering chunks. Call from a user gesture (a button press):
 * browsers, Quest's included, only start an AudioContext after one.
 */
export async function openMicrophone(options: MicrophoneOptions): Promise<MicrophoneCapture> {
  const mediaDevices = options.mediaDevices ?? globalThis.navigator?.mediaDevices;
  const Ctx = options.AudioContext ?? globalThis.AudioContext;
  if (!mediaDevices?.getUserMedia || !Ctx) {
    throw new SpeechError('unsupported', 'navigator.mediaDevices.getUserMedia or AudioContext is missing (an insecure http:// page has no microphone API).');
  }
  const chunkFrames = options.chunkFrames ?? 2048;
  const silenceTimeoutMs = options.silenceTimeoutMs ?? 3000;
  const silenceLevel = options.silenceLevel ?? 1e-4;

  // The context and the worklet module are set up while getUserMedia waits (permission prompt,
  // device start): audio that arrives before the graph is connected is lost, and people start
  // talking right after pressing. Creating the context here, still inside the user's gesture, also
  // lets it start running (browsers, Quest's included, start audio only after a gesture).
  // It runs at the hardware rate; asking for 16 kHz would make Firefox refuse to connect the
  // stream. resample.ts converts with a proper anti-aliasing filter instead.
  let ctx: AudioContext;
  try {
    ctx = new Ctx();
  } catch (e) {
    throw new SpeechError('unsupported', `AudioContext could not be created: ${String(e)}`, { cause: e });
  }
  const useWorklet = !options.forceScriptProcessor && typeof AudioWorkletNode !== 'undefined' && !!ctx.audioWorklet;
  const resumed = ctx.state === 'suspended' ? ctx.resume().catch(() => undefined) : Promise.resolve();
  const moduleLoaded = useWorklet ? ctx.audioWorklet.addModule(getWorkletUrl()) : Promise.resolve();
  // Settled later; a rejection here must not surface as unhandled before that.
  moduleLoaded.catch(() => undefined);

  let stream: MediaStream;
  try {
    stream = await mediaDevices.getUserMedia({
      audio: {
        ...(options.deviceId ? { deviceId: { exact: options.deviceId } } : {}),
        channelCount: { ideal: 1 },
        // The browser's own processing helps recognition in a room: it removes what the headset
        // plays, steadies the level and takes out stationary noise before our VAD sees it.
        echoCancellation: true,
        noiseSuppression: true,
        autoGainControl: true,
      },
      video: false,
    });
  } catch (e) {
    void ctx.close().catch(() => undefined);
    throw toCaptureError(e);
  }
  const tracks = stream.getAudioTracks();
  if (tracks.length === 0) {
    stream.getTracks().forEach((t) => t.stop());
    void ctx.close().catch(() => undefined);
    throw new SpeechError('no-device', 'getUserMedia returned a stream without an audio track.');
  }

  const cleanups: (() => void)[] = [() => stream.getTracks().forEach((t) => t.stop())];
  const runCleanups = () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c();
      } catch {
        // Cleanup is best effort: a node already disconnected must not stop the rest.
      }
    }
  };

  let stopped = false;
  let reported = false;
  const report = (error: SpeechError) => {
    if (stopped || reported) return;
    reported = true;
    options.onError?.(error);
  };
  for (const track of tracks) {
    const onEnded = () => report(new SpeechError('no-device', 'The microphone track ended while recording.'));
    track.addEventListener('ended', onEnded);
    cleanups.push(() => track.removeEventListener('ended', onEnded));
  }
  cleanups.push(() => void ctx.close().catch(() => undefined));
  const sampleRate = ctx.sampleRate;

  // "No audio": a muted microphone opens normally and then delivers exact zeros, or nothing at all.
  let heardSamples = 0;
  let peak = 0;
  const silenceSamples = (silenceTimeoutMs / 1000) * sampleRate;
  const deliver = (channels: Float32Array[]) => {
    if (stopped || channels.length === 0 || channels[0].length === 0) return;
    if (peak < silenceLevel) {
      for (const c of channels) for (let i = 0; i < c.length; i++) peak = Math.max(peak, Math.abs(c[i]));
      heardSamples += channels[0].length;
      if (peak < silenceLevel && heardSamples >= silenceSamples) {
        report(new SpeechError('no-audio', `Peak level below ${silenceLevel} for ${silenceTimeoutMs} ms.`));
      }
    }
    options.onChunk({ channels, sampleRate });
  };
  const watchdog = setTimeout(() => {
    if (heardSamples === 0) report(new SpeechError('no-audio', `No audio data arrived within ${silenceTimeoutMs} ms (AudioContext state: ${ctx.state}).`));
  }, silenceTimeoutMs + 250);
  cleanups.push(() => clearTimeout(watchdog));

  try {
    await resumed;
    const source = ctx.createMediaStreamSource(stream);
    cleanups.push(() => source.disconnect());
    if (useWorklet) {
      await moduleLoaded;
      const node = new AudioWorkletNode(ctx, PROCESSOR_NAME, {
        numberOfInputs: 1,
        numberOfOutputs: 0,
        processorOptions: { chunkFrames },
      });
      let onFlushed: (() => void) | null = null;
      node.port.onmessage = (e: MessageEvent<Float32Array[] | 'flushed'>) => {
        if (e.data === 'flushed') onFlushed?.();
        else deliver(e.data);
      };
      source.connect(node);
      cleanups.push(() => node.disconnect());
      return {
        sampleRate,
        method: 'audio-worklet',
        async stop() {
          if (stopped) return;
          // Ask for the partial chunk: the last ~40 ms often hold the end of the last word.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 250);
            onFlushed = () => {
              clearTimeout(timer);
              resolve();
            };
            node.port.postMessage('flush');
          });
          stopped = true;
          node.port.onmessage = null;
          runCleanups();
        },
      };
    }
    // ScriptProcessorNode is deprecated but is the only option on browsers without AudioWorklet.
    const inputChannels = Math.max(1, Math.min(2, tracks[0].getSettings?.().channelCount ?? 1));
    const processor = ctx.createScriptProcessor(chunkFrames, inputChannels, 1);
    processor.onaudioprocess = (e: AudioProcessingEvent) => {
      const buf = e.inputBuffer;
      const channels: Float32Array[] = [];
      // The event's buffers are reused by the browser: copy them.
      for (let c = 0; c < buf.numberOfChannels; c++) channels.push(new Float32Array(buf.getChannelData(c)));
      deliver(channels);
    };
    // Chrome only runs a ScriptProcessor connected to the destination; a zero gain keeps it silent.
    const mute = ctx.createGain();
    mute.gain.value = 0;
    source.connect(processor);
    processor.connect(mute);
    mute.connect(ctx.destination);
    cleanups.push(() => {
      processor.onaudioprocess = null;
      processor.disconnect();
      mute.disconnect();
    });
    return {
      sampleRate,
      method: 'script-processor',
      async stop() {
        if (stopped) return;
        stopped = true;
        runCleanups();
      },
    };
  } catch (e) {
    stopped = true;
    runCleanups();
    throw e instanceof SpeechError ? e : new SpeechError('device-busy', `Audio graph setup failed: ${String(e)}`, { cause: e });
  }
}
