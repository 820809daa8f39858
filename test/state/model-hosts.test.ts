// Model links from other hosts ask first (issue 13, item 4): no request reaches the host before
// the user allows it, the question names the host, and the answer is remembered per host.
import { describe, expect, it } from 'vitest';
import { createModelHostGate, hostDeclinedText, MODEL_HOSTS_KEY, type ChoiceStorage } from '../../src/state/model-hosts';
import { createGenerationStore, DEFAULT_MODEL_URL } from '../../src/state/generation';
import { createSharpenStore, type SharpenClient } from '../../src/state/sharpen';
import { createSceneStore } from '../../src/state/viewer';
import { resolveModelBaseUrl } from '../../src/model/model-store';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import { PipelineClient } from '../../src/workers/client';
import type { PlanSummary } from '../../src/workers/protocol';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { fakeControls } from '../workers/fake-pipeline';
import { InProcessWorker } from '../workers/in-process-worker';

const PAGE = 'http://127.0.0.1:5173/';
const PAGE_ORIGIN = 'http://127.0.0.1:5173';

/** localStorage's behaviour on a Map (one per "browser profile"). */
function memoryStorage(): ChoiceStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

/** A page opened from a link `?model=<BASE>` (models.example, not the page's own origin). */
function openPage(storage: ChoiceStorage, server: FakeServer) {
  const client = new PipelineClient({ createWorker: () => new InProcessWorker(server, fakeControls(), new MemoryModelStorage()) });
  const store = createGenerationStore(
    {
      client,
      scene: createSceneStore({ near: 1, far: 20 }),
      resolveModelUrl: (input) => resolveModelBaseUrl(input, PAGE),
      previewIntervalMs: 0,
      randomSeed: () => 1,
      hostGate: createModelHostGate(PAGE_ORIGIN, storage),
    },
    { prompt: 'a harbour', steps: 2, modelUrl: BASE },
  );
  return store;
}

function fakeServer(): FakeServer {
  const files = standardFiles();
  return new FakeServer(files, makeManifest(files, { model_id: 'Intel/ldm3d-pano (says the host)' }));
}

describe('model host gate', () => {
  it('asks about other origins only, names the host (hf: is huggingface.co), and remembers per origin', () => {
    const storage = memoryStorage();
    const gate = createModelHostGate(PAGE_ORIGIN, storage);
    expect(gate.needsAsking(resolveModelBaseUrl('./models/tiny/ldm3d-pano/', PAGE))).toBeNull();
    const hf = resolveModelBaseUrl('hf:someone/ldm3d-export/int8', PAGE);
    expect(gate.needsAsking(hf)).toBe('huggingface.co');
    expect(gate.needsAsking('http://192.168.1.9:8000/m/')).toBe('http://192.168.1.9:8000'); // not https: the scheme is shown
    expect(gate.needsAsking('https://127.0.0.1:5173/m/')).toBe('127.0.0.1:5173'); // another scheme is another origin
    gate.remember(hf, 'allowed');
    gate.remember('http://192.168.1.9:8000/m/', 'denied');
    expect(JSON.parse(storage.data.get(MODEL_HOSTS_KEY)!)).toEqual({ 'https://huggingface.co': 'allowed', 'http://192.168.1.9:8000': 'denied' });
    // A new page (same browser profile) remembers both.
    const later = createModelHostGate(PAGE_ORIGIN, storage);
    expect(later.needsAsking(resolveModelBaseUrl('hf:other/repo', PAGE))).toBeNull();
    expect(later.isDenied('http://192.168.1.9:8000/other/')).toBe(true);
    expect(later.needsAsking('https://huggingface.co.evil.example/m/')).toBe('huggingface.co.evil.example');
  });

  it('works without storage (private mode throws): the question still comes, the answer lasts for the page', () => {
    const throwing: ChoiceStorage = {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      setItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    };
    const gate = createModelHostGate(PAGE_ORIGIN, throwing);
    expect(gate.needsAsking(BASE)).toBe('models.example');
    gate.remember(BASE, 'allowed');
    expect(gate.needsAsking(BASE)).toBeNull();
  });
});

describe('generation store with a ?model= link to another host', () => {
  it('fetches nothing from the host (not even its manifest) until the user allows it; then sizes the model', async () => {
    const storage = memoryStorage();
    const server = fakeServer();
    const store = openPage(storage, server);
    // What the panel does on opening, then a Generate press.
    await store.getState().refreshPlan();
    await store.getState().generate();
    expect(server.requests).toEqual([]);
    expect(store.getState()).toMatchObject({ awaitingHost: 'models.example', plan: null, status: 'idle' });

    store.getState().answerHost(true);
    await expect.poll(() => store.getState().plan?.modelId).toBe('Intel/ldm3d-pano (says the host)');
    expect(server.requests.map((r) => r.path)).toEqual(['manifest.json']);
    expect(store.getState().awaitingHost).toBeNull();

    // The next visit with the same link does not ask again.
    const again = openPage(storage, server);
    await again.getState().refreshPlan();
    expect(again.getState().awaitingHost).toBeNull();
    expect(again.getState().plan).not.toBeNull();
  });

  it('a "no" is remembered: the built-in model is used, said, and the host never contacted', async () => {
    const storage = memoryStorage();
    const server = fakeServer();
    const store = openPage(storage, server);
    await store.getState().refreshPlan();
    store.getState().answerHost(false);
    expect(store.getState().settings.modelUrl).toBe(DEFAULT_MODEL_URL);
    expect(store.getState().notices).toContain(hostDeclinedText('models.example'));

    const again = openPage(storage, server);
    expect(again.getState().settings.modelUrl).toBe(DEFAULT_MODEL_URL);
    expect(again.getState().notices).toContain(hostDeclinedText('models.example'));
    expect(again.getState().awaitingHost).toBeNull();
    // Typing the address by hand asks again (the user's own choice, not the link's).
    again.getState().updateSettings({ modelUrl: BASE });
    await again.getState().refreshPlan();
    expect(again.getState().awaitingHost).toBe('models.example');
    expect(server.requests).toEqual([]);
  });
});

describe('sharpen store with a ?sr= link to another host', () => {
  it('asks before sizing the upscaler; "no" uses the built-in one; "yes" goes on with the sharpen', async () => {
    const plans: string[] = [];
    const plan = (baseUrl: string): PlanSummary => ({
      baseUrl,
      modelId: 'x',
      testWeights: true,
      files: [],
      totalBytes: 0,
      cachedBytes: 0,
      remainingBytes: 0,
      availableBytes: null,
    });
    const client: SharpenClient = {
      srLoaded: null,
      plan: async (baseUrl) => {
        plans.push(baseUrl);
        return plan(baseUrl);
      },
      sharpen: () => Promise.reject(new Error('stop here')),
      unloadSr: async () => undefined,
      cancel: () => undefined,
    };
    const open = (storage: ChoiceStorage) => {
      const scene = createSceneStore({ near: 1, far: 10 });
      scene.getState().showPanorama({ width: 8, height: 4, rgba: new Uint8ClampedArray(128), depth: new Float32Array(32) }, 'a');
      const store = createSharpenStore({
        client,
        scene,
        modelUrl: () => 'https://sr.example/ldm3d-sr/',
        fallbackModelUrl: () => `${PAGE}models/tiny/ldm3d-sr/`,
        backend: () => 'wasm',
        hostGate: createModelHostGate(PAGE_ORIGIN, storage),
      });
      store.getState().setGazeSource(() => ({ gaze: { x: 0, y: 0, z: -1 } }));
      return { store, scene };
    };
    const yes = memoryStorage();
    const a = open(yes);
    await a.store.getState().sharpen();
    expect(plans).toEqual([]);
    expect(a.store.getState().awaitingHost).toBe('sr.example');
    await a.store.getState().answerHost(true);
    expect(plans).toEqual(['https://sr.example/ldm3d-sr/']);

    plans.length = 0;
    const no = memoryStorage();
    const b = open(no);
    await b.store.getState().sharpen();
    await b.store.getState().answerHost(false);
    expect(plans).toEqual([`${PAGE}models/tiny/ldm3d-sr/`]);
    expect(b.scene.getState().messages.some((m) => m.text === hostDeclinedText('sr.example'))).toBe(true);
    // Next visit: straight to the built-in upscaler, with the notice, no question.
    plans.length = 0;
    const c = open(no);
    await c.store.getState().sharpen();
    expect(c.store.getState().awaitingHost).toBeNull();
    expect(plans).toEqual([`${PAGE}models/tiny/ldm3d-sr/`]);
  });
});
