/**
 * Issue 14 item 10 on the command line: with a model whose manifest has a prompt template (as the
 * real LDM3D-pano export writes it), the CLI sends "360 view of …", says so, and records both texts;
 * --no-prompt-template sends the words as given. The model is the tiny one's files (symlinked) with
 * a manifest variant that adds the field: no new model.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const TINY = resolve(import.meta.dirname, '../../models/tiny/ldm3d-pano');
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/generate.ts', ...args], { encoding: 'utf8', timeout: 240_000 });

describe('npm run generate with a prompt template', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ldm3d-cli-template-'));
  const models = join(tmp, 'model');
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  mkdirSync(models);
  for (const name of readdirSync(TINY)) {
    if (name !== 'manifest.json') symlinkSync(join(TINY, name), join(models, name));
  }
  const manifest = JSON.parse(readFileSync(join(TINY, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(models, 'manifest.json'), JSON.stringify({ ...manifest, prompt_template: '360 view of {prompt}' }));
  const common = ['--prompt', 'a harbour', '--steps', '1', '--seed', '3', '--backend', 'wasm', '--no-preview', '--models', models];

  it('sends the prompt inside the template, says so, and records both texts and the sent tokens', () => {
    const out = join(tmp, 'on');
    const r = run([...common, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('prompt sent: "360 view of a harbour"');
    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8'));
    expect(meta.settings).toMatchObject({ prompt: 'a harbour', sentPrompt: '360 view of a harbour', promptTemplate: '360 view of {prompt}' });
    const off = run([...common, '--no-prompt-template', '--out', join(tmp, 'off')]);
    expect(off.status, off.stderr).toBe(0);
    expect(off.stderr).not.toContain('prompt sent:');
    const plain = JSON.parse(readFileSync(join(tmp, 'off', 'metadata.json'), 'utf8'));
    expect(plain.settings).toMatchObject({ prompt: 'a harbour', sentPrompt: 'a harbour', promptTemplate: null });
    // The template's words count towards the 77 tokens: the sent prompt's count, not the typed one's.
    expect(meta.tokens.prompt.count).toBeGreaterThan(plain.tokens.prompt.count);
  }, 240_000);
});
