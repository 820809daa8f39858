/**
 * The prompt template of a model (manifest "prompt_template", issue 14 item 10). The usage example
 * on the Intel/ldm3d-pano model card writes every prompt as `360 view of {prompt}`, so the real
 * export's manifest carries that template and the pipeline sends the user's words inside it,
 * unless the caller turns it off (GenerateOptions.promptTemplate = false). The tiny test models'
 * manifests have no template, so their goldens (diffusers run on the bare prompt) are unchanged.
 *
 * This is the one place a template is applied: the pipeline calls it for the text it encodes,
 * and the desktop/VR panels call it only to show the user what will be sent.
 */
import { PipelineError } from '../model/errors';

export const PROMPT_PLACEHOLDER = '{prompt}';

/** What models/export.py writes for the real LDM3D-pano (the model card's usage example). */
export const LDM3D_PANO_PROMPT_TEMPLATE = '360 view of {prompt}';

/**
 * Checks the manifest's optional "prompt_template"; throws a 'model-file' error naming what is
 * wrong. A manifest may come from any host, so a template without exactly one `{prompt}` (which
 * would drop the user's words, or send them twice) is refused at load rather than run.
 */
export function checkPromptTemplate(m: { readonly prompt_template?: unknown }): void {
  const t = m.prompt_template;
  if (t === undefined) return;
  const bad = (what: string): never => {
    throw new PipelineError('model-file', `manifest.json: "prompt_template" ${what}`, { file: 'manifest.json' });
  };
  if (typeof t !== 'string') bad(`must be text such as "${LDM3D_PANO_PROMPT_TEMPLATE}", got ${JSON.stringify(t)}`);
  const count = (t as string).split(PROMPT_PLACEHOLDER).length - 1;
  if (count !== 1) bad(`must contain ${PROMPT_PLACEHOLDER} exactly once, got ${JSON.stringify(t)}`);
}

/**
 * The prompt actually sent to the text encoder: `template` with `{prompt}` replaced by the user's
 * words, or the words as they are when there is no template. An empty (or blank) prompt stays as
 * it is: '' asks for diffusers' unconditional panorama, and "360 view of " would condition it.
 */
export function applyPromptTemplate(template: string | null | undefined, prompt: string): string {
  if (!template || prompt.trim() === '') return prompt;
  // split/join, not String.replace: a `$&` or `$1` in the user's words must stay literal.
  return template.split(PROMPT_PLACEHOLDER).join(prompt);
}

