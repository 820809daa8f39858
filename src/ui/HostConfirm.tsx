/**
 * The desktop panels' question before a model is fetched from another site (model-hosts.ts): the
 * host, in the same words for the panorama model and the upscaler, with allow / don't allow.
 */
import type { ReactNode } from 'react';
import { hostQuestionText } from '../state/model-hosts';

export interface HostConfirmProps {
  readonly host: string;
  readonly onAnswer: (allow: boolean) => void;
  readonly testId: string;
}

export function HostConfirm({ host, onAnswer, testId }: HostConfirmProps): ReactNode {
  return (
    <div className="confirm" data-testid={testId} data-host={host}>
      <p>{hostQuestionText(host)}</p>
      <div className="row">
        <button type="button" className="primary" data-testid={`${testId}-allow`} onClick={() => onAnswer(true)}>
          Allow {host}
        </button>
        <button type="button" data-testid={`${testId}-deny`} onClick={() => onAnswer(false)}>
          Don&apos;t allow
        </button>
      </div>
    </div>
  );
}
