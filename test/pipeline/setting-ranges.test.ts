/**
 * One vocabulary for the generation settings' ranges (issue 15): the worker protocol, the pipelines
 * and the CLI refuse the same values with the same words, and the VR buttons stay inside the range.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GUIDANCE_RANGE, STEPS_RANGE, guidanceError, stepsError } from '../../src/pipeline/setting-ranges';
import { validateGenerate, type GenerateParams } from '../../src/workers/protocol';
import { stepGuidance, stepSteps } from '../../src/ui/vr/prompt-settings';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { PipelineError } from '../../src/model/errors';

const ok: GenerateParams = { prompt: 'a cave', negativePrompt: '', steps: 20, guidance: 7, scheduler: 'dpm', seed: 1 };

describe('setting ranges', () => {
  it('steps: whole numbers from 1 to 1000; guidance: 0 to 50', () => {
    for (const s of [STEPS_RANGE.min, 20, STEPS_RANGE.max]) expect(stepsError(s)).toBeNull();
    for (const s of [0, STEPS_RANGE.max + 1, 2.5, Number.NaN]) expect(stepsError(s)).toBe(`steps must be a whole number from 1 to 1000, got ${s}`);
    for (const g of [GUIDANCE_RANGE.min, 7.5, GUIDANCE_RANGE.max]) expect(guidanceError(g)).toBeNull();
    for (const g of [-0.5, 50.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(guidanceError(g)).toBe(`guidance must be a number from 0 to 50, got ${g}`);
  });

  it('the worker protocol says exactly what the ranges say', () => {
    expect(validateGenerate({ ...ok, steps: 1001 })).toBe(stepsError(1001));
    expect(validateGenerate({ ...ok, guidance: 51 })).toBe(guidanceError(51));
  });

  it('the pipeline refuses what the protocol refuses, with the same words', async () => {
    const pipe = await Ldm3dPipeline.load(await folderSource('models/tiny/ldm3d-pano'), { backend: 'wasm' });
    try {
      for (const [o, want] of [
        [{ steps: 1001 }, stepsError(1001)],
        [{ guidance: 51 }, guidanceError(51)],
      ] as const) {
        const e = await pipe.generate({ prompt: 'a cave', ...o }).then(
          () => null,
          (x: unknown) => x,
        );
        expect(e).toBeInstanceOf(PipelineError);
        expect((e as PipelineError).message).toBe(want);
      }
    } finally {
      await pipe.dispose();
    }
  });

  it('the CLI refuses them before loading the model, with the same words', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/generate.ts', '--models', 'models/tiny/ldm3d-pano', '--prompt', 'a', '--out', '/tmp/never', ...args], {
        encoding: 'utf8',
      });
    expect(run(['--guidance', '51']).stderr).toContain(guidanceError(51, '--guidance'));
    expect(run(['--steps', '1001']).stderr).toContain(stepsError(1001, '--steps'));
  });

  it('the VR buttons move within the same ranges', () => {
    expect(stepSteps(STEPS_RANGE.max, 1)).toBe(STEPS_RANGE.max);
    expect(stepSteps(STEPS_RANGE.min, -1)).toBe(STEPS_RANGE.min);
    expect(stepGuidance(GUIDANCE_RANGE.max, 1)).toBe(GUIDANCE_RANGE.max);
    expect(stepGuidance(GUIDANCE_RANGE.min, -1)).toBe(GUIDANCE_RANGE.min);
  });
});
