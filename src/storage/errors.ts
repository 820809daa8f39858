/**
 * Typed failures of the scene store. Each message is written for the person in front of the app:
 * what happened, and that the scene they are looking at is still there and can be exported.
 */
export class SceneStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** IndexedDB is missing or refuses to open (private browsing, disabled storage, blocked cookies). */
export class StorageUnavailableError extends SceneStoreError {}

/** The browser's storage quota is used up; nothing of the scene was written. */
export class QuotaExceededError extends SceneStoreError {
  constructor(
    message: string,
    /** Bytes the failed write needed (PNG data + thumbnail), so the UI can say how much. */
    readonly bytesNeeded: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Any other failed write or read; the transaction was rolled back. */
export class StorageWriteError extends SceneStoreError {}

const KEEP = 'The current scene is still shown and can be exported.';

export function unavailableMessage(reason: string): string {
  return `Scenes cannot be saved in this browser: ${reason} (private browsing or disabled site storage?). ${KEEP}`;
}

export function quotaMessage(bytes: number): string {
  return `Browser storage is full: this scene (${(bytes / 1e6).toFixed(1)} MB) was not saved. Delete scenes in the gallery to make room. ${KEEP}`;
}

export function writeFailedMessage(detail: string): string {
  return `The scene could not be saved (${detail}); nothing was written. ${KEEP}`;
}

/** DOMException names browsers use for a full disk or quota ("NS_ERROR_DOM_QUOTA_REACHED": old Firefox). */
export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

const KEEP_DETAIL = 'The sharpened region stays visible until another scene is opened.';

export function detailQuotaMessage(bytes: number): string {
  return `Browser storage is full: the sharpened region (${(bytes / 1e6).toFixed(1)} MB) was not saved with the scene. Delete scenes in the gallery to make room. ${KEEP_DETAIL}`;
}

export function detailWriteFailedMessage(detail: string): string {
  return `The sharpened region could not be saved with the scene (${detail}); nothing was written. ${KEEP_DETAIL}`;
}
