/**
 * The one error type the pipeline, its runtime and the CLI throw. The worker protocol and the UI
 * switch on `code`; `message` is written for the user and names the file and the reason.
 */
export type PipelineErrorCode =
  | 'empty-prompt'
  | 'bad-option'
  | 'model-file'
  | 'unsupported-config'
  | 'webgpu-unavailable'
  | 'device-lost'
  | 'out-of-memory'
  // The model needs a larger GPU buffer (or another WebGPU limit) than the device allows; the message
  // names the limit, the size needed and what to do (src/runtime/limits.ts).
  | 'device-limits'
  | 'cancelled'
  | 'disposed'
  | 'busy'
  | 'runtime';

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  readonly code: PipelineErrorCode;
  /** The manifest-relative file the error is about, when there is one. */
  readonly file: string | undefined;

  constructor(code: PipelineErrorCode, message: string, options?: { file?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options?.file;
  }
}

export function isPipelineError(e: unknown, code?: PipelineErrorCode): e is PipelineError {
  return e instanceof PipelineError && (code === undefined || e.code === code);
}

/** A short reason string from anything thrown (ORT throws strings, Errors and numbers). */
export function reasonOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
