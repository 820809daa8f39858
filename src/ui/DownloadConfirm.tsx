/**
 * The desktop panels' "large download" question, for the panorama model (Generate) and the
 * upscaler (Sharpen): the same words (src/state/download-confirm.ts) and buttons in both.
 */
import type { ReactNode } from 'react';
import { downloadConfirmText, storageWarningText, type DownloadPlan } from '../state/download-confirm';

export interface DownloadConfirmProps {
  readonly plan: DownloadPlan;
  /** The yes button, e.g. "Download and generate". */
  readonly confirmLabel: string;
  readonly onConfirm: () => void;
  readonly onDecline: () => void;
  readonly testId: string;
}

export function DownloadConfirm({ plan, confirmLabel, onConfirm, onDecline, testId }: DownloadConfirmProps): ReactNode {
  const warning = storageWarningText(plan);
  return (
    <div className="confirm" data-testid={testId}>
      <p>{downloadConfirmText(plan)}</p>
      {warning ? (
        <p role="alert" data-testid="storage-warning">
          {warning}
        </p>
      ) : null}
      <div className="row">
        <button type="button" className="primary" onClick={onConfirm}>
          {confirmLabel}
        </button>
        <button type="button" onClick={onDecline}>
          Not now
        </button>
      </div>
    </div>
  );
}
