/**
 * The manifest's "prompt_template" (issue 14 item 10): parsing/validation at load, and building the
 * prompt that is sent (prompt-template.ts), which the pipeline, the worker and the panels share.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPipelineError } from '../../src/model/errors';
import type { Manifest } from '../../src/model/manifest';
import { checkManifest } from '../../src/pipeline/model-files';
import { applyPromptTemplate, checkPromptTemplate, LDM3D_PANO_PROMPT_TEMPLATE } from '../../src/pipeline/prompt-template';

const tiny = (): Manifest => JSON.parse(readFileSync('models/tiny/ldm3d-pano/manifest.json', 'utf8')) as Manifest;
const withTemplate = (t: unknown): Manifest => ({ ...tiny(), prompt_template: t }) as unknown as Manifest;

function message(f: () => void): string {
  try {
    f();
  } catch (e) {
    expect(isPipelineError(e, 'model-file')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('manifest "prompt_template"', () => {
  it('the tiny models leave it out (their goldens are diffusers on the bare prompt)', () => {
    for (const dir of ['ldm3d-pano', 'ldm3d-pano-wrap', 'ldm3d-pano-deepcache']) {
      const m = JSON.parse(readFileSync(`models/tiny/${dir}/manifest.json`, 'utf8')) as Record<string, unknown>;
      expect(m.prompt_template, dir).toBeUndefined();
    }
  });

  it("the model card's template passes the load checks", () => {
    expect(() => checkManifest(withTemplate(LDM3D_PANO_PROMPT_TEMPLATE))).not.toThrow();
    expect(LDM3D_PANO_PROMPT_TEMPLATE).toBe('360 view of {prompt}');
  });

  it('a template that is not text, or would drop or repeat the words, is refused at load, naming the field', () => {
    expect(message(() => checkManifest(withTemplate(42)))).toMatch(/"prompt_template" must be text/);
    expect(message(() => checkManifest(withTemplate('360 view')))).toMatch(/\{prompt\} exactly once/);
    expect(message(() => checkManifest(withTemplate('{prompt}, {prompt}')))).toMatch(/\{prompt\} exactly once/);
    expect(() => checkPromptTemplate({})).not.toThrow();
  });
});

describe('applyPromptTemplate', () => {
  it("wraps the user's words as the model card does", () => {
    expect(applyPromptTemplate(LDM3D_PANO_PROMPT_TEMPLATE, 'a cozy wooden cabin at sunset')).toBe('360 view of a cozy wooden cabin at sunset');
    expect(applyPromptTemplate('{prompt}, 360 panorama', 'a beach')).toBe('a beach, 360 panorama');
  });

  it('sends the words as they are without a template', () => {
    expect(applyPromptTemplate(null, 'a beach')).toBe('a beach');
    expect(applyPromptTemplate(undefined, 'a beach')).toBe('a beach');
  });

  it("keeps '' unconditional: an empty or blank prompt is not wrapped", () => {
    expect(applyPromptTemplate(LDM3D_PANO_PROMPT_TEMPLATE, '')).toBe('');
    expect(applyPromptTemplate(LDM3D_PANO_PROMPT_TEMPLATE, '  ')).toBe('  ');
  });

  it('keeps replacement patterns in the words literal', () => {
    // String.replace would expand these into the template or the match.
    expect(applyPromptTemplate(LDM3D_PANO_PROMPT_TEMPLATE, "$& a $' room $$")).toBe("360 view of $& a $' room $$");
  });

  it('keeps non-ASCII words as they are', () => {
    expect(applyPromptTemplate(LDM3D_PANO_PROMPT_TEMPLATE, 'café in Zürich 🌅')).toBe('360 view of café in Zürich 🌅');
  });
});
