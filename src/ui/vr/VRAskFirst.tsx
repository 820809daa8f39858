/**
 * The VR panels' two "ask before anything large or remote happens" prompts, shared by the Generate
 * and Sharpen sections so both say it in the same words as the desktop panels (the texts live in
 * src/state; vrText keeps them to the VR font's glyphs).
 */
import { Container, Text } from '@react-three/uikit';
import { downloadConfirmText, type DownloadPlan } from '../../state/download-confirm';
import { hostQuestionText } from '../../state/model-hosts';
import { vrText } from './vr-font';
import { VRButton } from './VRButton';

/** The size of a large download about to start (its buttons are the section's own). */
export function VRDownloadNotice({ confirm }: { readonly confirm: DownloadPlan | null }) {
  if (!confirm) return null;
  return (
    <Text fontSize={16} color="#ffd28a">
      {vrText(downloadConfirmText(confirm))}
    </Text>
  );
}

/** "May this page contact <host>?" with Allow / Don't allow. */
export function VRHostQuestion({ host, onAnswer }: { readonly host: string | null; readonly onAnswer: (allow: boolean) => void }) {
  if (!host) return null;
  return (
    <Container flexDirection="column" gap={6}>
      <Text fontSize={16} color="#ffd28a">
        {vrText(hostQuestionText(host))}
      </Text>
      <Container flexDirection="row" gap={8}>
        <VRButton label={vrText(`Allow ${host}`)} onClick={() => onAnswer(true)} />
        <VRButton label="Don't allow" onClick={() => onAnswer(false)} />
      </Container>
    </Container>
  );
}
