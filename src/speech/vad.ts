/**
 * End-of-speech detection: an energy VAD with an adaptive noise floor, hysteresis and hangover.
 * Pure and streaming: push 16 kHz mono chunks of any size, get start/end events with timestamps in
 * seconds since the first sample pushed.
 *
 * Why energy and not a model: push-to-talk only needs "when did the person stop talking" so the
 * recogniser gets a tight segment and tap-to-talk can stop by itself. Speech in a room is 15-30 dB
 * above the room's steady noise; what breaks a fixed threshold is that the noise differs from room
 * to room and mic to mic, so the threshold is relative to a floor that follows the noise:
 * - the floor is seeded from the quietest frame of the first `calibrationMs`;
 * - between utterances it falls fast and rises slowly (it tracks the lower envelope of the noise,
 *   so a steady fan lifts it, but a word does not);
 * - it is frozen during speech (the speech itself must not become "noise").
 * A frame starts speech when it is `onsetDb` above the floor, for `minSpeechMs` in a row (clicks and
 * knocks are shorter); speech continues while frames stay `offsetDb` above the floor (hysteresis:
 * the quiet ends of words are kept); speech ends after `hangoverMs` below that (pauses between words
 * are shorter). A DC blocker in front keeps a mic's offset and rumble out of the energy.
 */

export interface VadOptions {
  sampleRate?: number;
  frameMs?: number;
  calibrationMs?: number;
  onsetDb?: number;
  offsetDb?: number;
  minSpeechMs?: number;
  hangoverMs?: number;
  /** Frames quieter than this (dBFS) are never speech, whatever the floor: digital silence, a muted mic. */
  minLevelDb?: number;
  /** How fast the floor may rise between utterances. */
  floorRiseDbPerSec?: number;
  /** When speech is confirmed, its start is moved back over frames still `offsetDb` above the floor, up to this long. */
  maxBacktrackMs?: number;
}

export type VadEvent =
  | { type: 'speech-start'; time: number }
  | { type: 'speech-end'; start: number; end: number };

export interface SpeechSegment {
  start: number;
  end: number;
}

const DEFAULTS: Required<VadOptions> = {
  sampleRate: 16000,
  frameMs: 10,
  calibrationMs: 100,
  onsetDb: 12,
  offsetDb: 6,
  minSpeechMs: 60,
  hangoverMs: 600,
  minLevelDb: -55,
  floorRiseDbPerSec: 3,
  maxBacktrackMs: 150,
};

/** Digital silence has -Infinity dB; clamp so floor arithmetic stays finite. */
const FLOOR_DB = -120;

export class EnergyVad {
  readonly options: Required<VadOptions>;
  private readonly frameLength: number;
  private readonly frameSec: number;
  private readonly pending: Float32Array;
  private pendingLength = 0;
  private frameIndex = 0;
  // DC blocker state (one-pole high-pass, about 60 Hz).
  private readonly dcR: number;
  private prevX = 0;
  private prevY = 0;

  private floorDb = FLOOR_DB;
  private calibrating: number[] | null = [];
  private readonly calibrationFrames: number;
  /** Recent frame levels, for moving a confirmed start back over the onset. */
  private readonly history: Float64Array;

  private inSpeech = false;
  private candidateStart = -1;
  private candidateFrames = 0;
  private speechStart = 0;
  private lastSpeechFrame = -1;
  private quietFrames = 0;
  private finished = false;
  readonly segments: SpeechSegment[] = [];

  constructor(options: VadOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
    const { sampleRate, frameMs, calibrationMs, maxBacktrackMs } = this.options;
    this.frameLength = Math.round((sampleRate * frameMs) / 1000);
    if (this.frameLength < 1) throw new RangeError('VAD frame is shorter than one sample.');
    this.frameSec = this.frameLength / sampleRate;
    this.pending = new Float32Array(this.frameLength);
    this.calibrationFrames = Math.max(1, Math.round(calibrationMs / frameMs));
    this.history = new Float64Array(Math.max(1, Math.round(maxBacktrackMs / frameMs)) + 1);
    this.dcR = 1 - (2 * Math.PI * 60) / sampleRate;
  }

  /** True between a speech-start and its speech-end. */
  get speaking(): boolean {
    return this.inSpeech;
  }

  /** Current noise floor estimate in dBFS (after calibration). */
  get noiseFloorDb(): number {
    return this.floorDb;
  }

  /** Seconds of audio consumed so far (whole frames). */
  get time(): number {
    return (this.frameIndex + (this.calibrating?.length ?? 0)) * this.frameSec;
  }

  push(samples: Float32Array): VadEvent[] {
    if (this.finished) throw new Error('EnergyVad: push() after finish().');
    const events: VadEvent[] = [];
    let i = 0;
    while (i < samples.length) {
      const n = Math.min(this.frameLength - this.pendingLength, samples.length - i);
      this.pending.set(samples.subarray(i, i + n), this.pendingLength);
      this.pendingLength += n;
      i += n;
      if (this.pendingLength === this.frameLength) {
        this.pendingLength = 0;
        this.frame(this.level(this.pending), events);
      }
    }
    return events;
  }

  /** Ends the stream: an utterance still open ends at its last loud frame. */
  finish(): VadEvent[] {
    if (this.finished) return [];
    const events: VadEvent[] = [];
    if (this.calibrating) this.endCalibration(events);
    if (this.inSpeech) this.endSpeech(events);
    this.finished = true;
    return events;
  }

  private level(frame: Float32Array): number {
    let sum = 0;
    let px = this.prevX;
    let py = this.prevY;
    for (let i = 0; i < frame.length; i++) {
      const x = frame[i];
      const y = x - px + this.dcR * py;
      px = x;
      py = y;
      sum += y * y;
    }
    this.prevX = px;
    this.prevY = py;
    const db = 10 * Math.log10(sum / frame.length);
    return Number.isFinite(db) ? Math.max(db, FLOOR_DB) : FLOOR_DB;
  }

  private frame(db: number, events: VadEvent[]): void {
    if (this.calibrating) {
      this.calibrating.push(db);
      if (this.calibrating.length >= this.calibrationFrames) this.endCalibration(events);
      return;
    }
    this.decide(db, events);
  }

  private endCalibration(events: VadEvent[]): void {
    const levels = this.calibrating!;
    this.calibrating = null;
    if (levels.length === 0) return;
    this.floorDb = Math.min(...levels);
    // Replay the calibration frames through the detector: speech that began inside them still counts.
    for (const db of levels) this.decide(db, events);
  }

  private decide(db: number, events: VadEvent[]): void {
    const o = this.options;
    const i = this.frameIndex++;
    this.history[i % this.history.length] = db;
    const audible = db > o.minLevelDb;
    const loud = audible && db > this.floorDb + o.onsetDb;
    const voiced = audible && db > this.floorDb + o.offsetDb;

    if (this.inSpeech) {
      if (voiced) {
        this.lastSpeechFrame = i;
        this.quietFrames = 0;
      } else if (++this.quietFrames * o.frameMs >= o.hangoverMs) {
        this.endSpeech(events);
      }
      return;
    }

    if (loud) {
      if (this.candidateStart < 0) this.candidateStart = i;
      if (++this.candidateFrames * o.frameMs >= o.minSpeechMs) {
        let start = this.candidateStart;
        // Onsets rise through the hysteresis band before they are "loud": take those frames too.
        const earliest = Math.max(0, i - this.history.length + 1);
        const h = this.history;
        while (start - 1 >= earliest) {
          const prev = h[(start - 1) % h.length];
          if (!(prev > this.floorDb + o.offsetDb && prev > o.minLevelDb)) break;
          start--;
        }
        this.inSpeech = true;
        this.speechStart = start;
        this.lastSpeechFrame = i;
        this.quietFrames = 0;
        this.candidateStart = -1;
        this.candidateFrames = 0;
        events.push({ type: 'speech-start', time: start * this.frameSec });
      }
      return;
    }

    this.candidateStart = -1;
    this.candidateFrames = 0;
    // Lower envelope tracking: fall at once to a quieter frame, rise slowly towards a louder one.
    if (db < this.floorDb) {
      this.floorDb = db;
    } else {
      this.floorDb += Math.min(db - this.floorDb, o.floorRiseDbPerSec * this.frameSec);
    }
  }

  private endSpeech(events: VadEvent[]): void {
    const segment = { start: this.speechStart * this.frameSec, end: (this.lastSpeechFrame + 1) * this.frameSec };
    this.segments.push(segment);
    events.push({ type: 'speech-end', ...segment });
    this.inSpeech = false;
    this.quietFrames = 0;
  }
}

/** Runs a whole buffer through a fresh VAD and returns the speech segments. */
export function detectSpeech(samples: Float32Array, options?: VadOptions): SpeechSegment[] {
  const vad = new EnergyVad(options);
  vad.push(samples);
  vad.finish();
  return vad.segments;
}
