/**
 * What the prompt-template toggle next to the prompt field shows (issue 14 item 10), for both
 * panels (desktop Generate panel, VR prompt section). Pure: tested without React or uikit.
 *
 * Shown only where the model (planned or loaded) has a template; there it says what will be sent,
 * so the user sees "360 view of …" before generating, and the toggle turns it off.
 */
import { promptTemplateOf, sentPromptPreview, type GenerationSettings, type GenerationState } from '../../state/generation';
import { PROMPT_PLACEHOLDER } from '../../pipeline/prompt-template';

export const PROMPT_TEMPLATE_TITLE =
  "The model was trained on prompts phrased this way (its model card writes every prompt like this). Off: your words are sent exactly as typed.";

export interface PromptTemplateControl {
  /** The model's template, e.g. "360 view of {prompt}". */
  readonly template: string;
  /** The toggle's label: the template with "…" for the words, e.g. 'Add "360 view of …"'. */
  readonly label: string;
  readonly checked: boolean;
  /** The prompt that will be sent, or null: the toggle is off, or the prompt is empty (sent as ''). */
  readonly sent: string | null;
}

export function promptTemplateControl(
  state: Pick<GenerationState, 'model' | 'plan'>,
  settings: Pick<GenerationSettings, 'promptTemplate' | 'prompt'>,
): PromptTemplateControl | null {
  const template = promptTemplateOf(state);
  if (template === null) return null;
  const sent = settings.prompt.trim() === '' ? null : sentPromptPreview(state, settings, settings.prompt);
  return { template, label: `Add "${template.replace(PROMPT_PLACEHOLDER, '…').trim()}"`, checked: settings.promptTemplate, sent };
}
