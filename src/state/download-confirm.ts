/**
 * When a model download needs the user's yes, and what the panels say when asking. One place for
 * the panorama model and the upscaler (LDM3D-SR), so both ask at the same size with the same words
 * in the desktop and the VR panels.
 */
import { formatBytes } from '../model/model-store';
import type { PlanSummary } from '../workers/protocol';

/** Models with more than this left to download are fetched only after the user confirms. */
export const CONFIRM_DOWNLOAD_ABOVE_BYTES = 200 * 1024 * 1024;

export type DownloadPlan = Pick<PlanSummary, 'remainingBytes' | 'cachedBytes' | 'availableBytes'>;

export function needsDownloadConfirm(plan: Pick<PlanSummary, 'remainingBytes'>, aboveBytes: number = CONFIRM_DOWNLOAD_ABOVE_BYTES): boolean {
  return plan.remainingBytes > aboveBytes;
}

/** The question's first sentence, e.g. "This downloads 4.3 GB (1.0 GB already stored) and keeps it in this browser." */
export function downloadConfirmText(plan: DownloadPlan): string {
  const stored = plan.cachedBytes > 0 ? ` (${formatBytes(plan.cachedBytes)} already stored)` : '';
  return `This downloads ${formatBytes(plan.remainingBytes)}${stored} and keeps it in this browser.`;
}

/** Said under the question when the browser will not let the app store that much; else null. */
export function storageWarningText(plan: DownloadPlan): string | null {
  if (plan.availableBytes === null || plan.availableBytes >= plan.remainingBytes) return null;
  return (
    `This browser lets the app store only ${formatBytes(plan.availableBytes)} more: free disk space or clear site data ` +
    'first, or the download will stop with a quota error.'
  );
}
