/**
 * Issue 14 item 10 in the generation store: where the model has a prompt template, the panels show
 * the prompt that will be sent (before loading too: the plan carries the template), the setting
 * turns it off, and the saved metadata records the user's words and the sent prompt. The pipeline
 * itself applies the template (test/workers/prompt-template-host.test.ts shows it on real graphs);
 * the fake worker here mirrors it.
 */
import { describe, expect, it } from 'vitest';
import { parseMetadata, stringifyMetadata } from '../../src/export/metadata';
import { sceneMetadataOf } from '../../src/storage/save-then-show';
import { DEFAULT_SETTINGS, createGenerationStore, promptTemplateOf, sentPromptPreview } from '../../src/state/generation';
import { createSceneStore } from '../../src/state/viewer';
import { PipelineClient } from '../../src/workers/client';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { fakeControls } from '../workers/fake-pipeline';
import { InProcessWorker } from '../workers/in-process-worker';

const TEMPLATE = '360 view of {prompt}';

function setup(template: string | undefined) {
  const files = standardFiles();
  const server = new FakeServer(files, makeManifest(files, template === undefined ? {} : { prompt_template: template }));
  const controls = fakeControls();
  const client = new PipelineClient({ createWorker: () => new InProcessWorker(server, controls, new MemoryModelStorage()) });
  const store = createGenerationStore(
    { client, scene: createSceneStore({ near: 1, far: 20 }), resolveModelUrl: () => BASE, previewIntervalMs: 0, randomSeed: () => 5 },
    { prompt: 'a lighthouse on a cliff', steps: 2 },
  );
  return { store, controls };
}

describe('prompt template in the generation store', () => {
  it('is on by default', () => {
    expect(DEFAULT_SETTINGS.promptTemplate).toBe(true);
  });

  it('shows the prompt that will be sent once the model is planned, and records both texts', async () => {
    const { store, controls } = setup(TEMPLATE);
    // Nothing known before the plan: the prompt is shown as typed.
    expect(sentPromptPreview(store.getState(), store.getState().settings, 'a lighthouse on a cliff')).toBeNull();
    await store.getState().refreshPlan();
    expect(promptTemplateOf(store.getState())).toBe(TEMPLATE);
    expect(sentPromptPreview(store.getState(), store.getState().settings, 'a lighthouse on a cliff')).toBe('360 view of a lighthouse on a cliff');
    await store.getState().generate();
    const s = store.getState();
    expect(s.error).toBeNull();
    expect(controls.lastParams).toMatchObject({ prompt: 'a lighthouse on a cliff', promptTemplate: true });
    expect(promptTemplateOf(s)).toBe(TEMPLATE); // from the loaded model now
    const meta = s.last!.result.metadata;
    expect(meta).toMatchObject({ prompt: 'a lighthouse on a cliff', sentPrompt: '360 view of a lighthouse on a cliff' });
    // The saved scene keeps the user's words as its prompt and the sent text beside them.
    const saved = parseMetadata(stringifyMetadata(sceneMetadataOf({ width: 4, height: 2 }, meta, { near: 1, far: 20 })));
    expect(saved.prompt).toBe('a lighthouse on a cliff');
    expect(saved.sentPrompt).toBe('360 view of a lighthouse on a cliff');
  });

  it('the setting turns it off: the words are sent and shown as typed', async () => {
    const { store, controls } = setup(TEMPLATE);
    store.getState().updateSettings({ promptTemplate: false });
    await store.getState().refreshPlan();
    expect(sentPromptPreview(store.getState(), store.getState().settings, 'a lighthouse on a cliff')).toBeNull();
    await store.getState().generate();
    expect(controls.lastParams).toMatchObject({ promptTemplate: false });
    const meta = store.getState().last!.result.metadata;
    expect(meta.sentPrompt).toBe('a lighthouse on a cliff');
    // Sent as typed: the saved metadata has no second text.
    expect(sceneMetadataOf({ width: 4, height: 2 }, meta, { near: 1, far: 20 }).sentPrompt).toBeUndefined();
  });

  it('a model without a template (the tiny test models) sends and shows the words as typed', async () => {
    const { store } = setup(undefined);
    await store.getState().generate();
    const s = store.getState();
    expect(promptTemplateOf(s)).toBeNull();
    expect(sentPromptPreview(s, s.settings, 'a lighthouse on a cliff')).toBeNull();
    expect(s.last!.result.metadata.sentPrompt).toBe('a lighthouse on a cliff');
  });

  it('a voice transcript written into the prompt field is sent inside the template too', async () => {
    const { store, controls } = setup(TEMPLATE);
    // What the desktop and VR panels do with a finished transcript: it replaces the prompt field.
    store.getState().updateSettings({ prompt: 'a quiet forest lake' });
    await store.getState().generate();
    expect(controls.lastParams!.prompt).toBe('a quiet forest lake');
    expect(store.getState().last!.result.metadata.sentPrompt).toBe('360 view of a quiet forest lake');
  });
});

describe('"sentPrompt" in scene metadata files', () => {
  const base = {
    prompt: 'a beach',
    negativePrompt: '',
    settings: { steps: 2, guidance: 7, scheduler: 'ddim', seed: 1 },
    modelId: 'Intel/ldm3d-pano',
    testWeights: false,
    createdAt: '2026-01-01T00:00:00.000Z',
    width: 4,
    height: 2,
    depthMapping: { near: 1, far: 20 },
  };

  it('round-trips, and files without it read as sent-as-typed', () => {
    expect(parseMetadata(stringifyMetadata({ ...base, sentPrompt: '360 view of a beach' })).sentPrompt).toBe('360 view of a beach');
    expect('sentPrompt' in parseMetadata(stringifyMetadata(base))).toBe(false);
  });

  it('rejects a sentPrompt that is not text, naming the field', () => {
    const doc = JSON.parse(stringifyMetadata(base)) as Record<string, unknown>;
    expect(() => parseMetadata({ ...doc, sentPrompt: 3 })).toThrow(/sentPrompt/);
  });
});
