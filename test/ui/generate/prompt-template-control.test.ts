/** The prompt-template toggle both panels show (issue 14 item 10): only with a template, and what it sends. */
import { describe, expect, it } from 'vitest';
import { promptTemplateControl } from '../../../src/ui/generate/prompt-template-control';
import type { GenerationState } from '../../../src/state/generation';

const planned = (promptTemplate: string | null): Pick<GenerationState, 'model' | 'plan'> =>
  ({ model: null, plan: { promptTemplate } }) as unknown as Pick<GenerationState, 'model' | 'plan'>;

describe('promptTemplateControl', () => {
  it('is absent for a model without a template, and before the model is known', () => {
    expect(promptTemplateControl(planned(null), { prompt: 'a beach', promptTemplate: true })).toBeNull();
    expect(promptTemplateControl({ model: null, plan: null }, { prompt: 'a beach', promptTemplate: true })).toBeNull();
  });

  it('shows the template as a label and the prompt that will be sent', () => {
    expect(promptTemplateControl(planned('360 view of {prompt}'), { prompt: 'a beach', promptTemplate: true })).toEqual({
      template: '360 view of {prompt}',
      label: 'Add "360 view of …"',
      checked: true,
      sent: '360 view of a beach',
    });
  });

  it('off: unchecked, nothing extra is sent; an empty prompt has no "sent as" line', () => {
    expect(promptTemplateControl(planned('360 view of {prompt}'), { prompt: 'a beach', promptTemplate: false })).toMatchObject({ checked: false, sent: null });
    expect(promptTemplateControl(planned('360 view of {prompt}'), { prompt: ' ', promptTemplate: true })).toMatchObject({ checked: true, sent: null });
  });
});
