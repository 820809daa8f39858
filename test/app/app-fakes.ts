// Stand-ins for the browser parts of the app's services, so createAppServices runs in Node.
import type { XRStore } from '@react-three/xr';
import { IDBFactory } from 'fake-indexeddb';
import { createStore } from 'zustand/vanilla';
import type { AppEnvironment } from '../../src/app/services';
import { createDebugHandle } from '../../src/app/debug-handle';
import type { ModelHostGate } from '../../src/state/model-hosts';

/** The parts of the XR store's state the app reads. */
export interface FakeXRState {
  readonly session: object | null;
  readonly mode: string | null;
  readonly emulator: { readonly fovy: number } | undefined;
}

export function fakeXR() {
  const store = createStore<FakeXRState>()(() => ({ session: null, mode: null, emulator: { fovy: 1.5 } }));
  let destroyed = 0;
  // The real store's other fields are not read by the services; a cast is the narrowest way to say so.
  const xr = Object.assign(store, { destroy: () => void destroyed++ }) as unknown as XRStore;
  return { xr, store, destroyed: () => destroyed };
}

const allowAll: ModelHostGate = {
  needsAsking: () => null,
  isDenied: () => false,
  remember: () => undefined,
};

export function testEnvironment(overrides: Partial<AppEnvironment> = {}) {
  const xr = fakeXR();
  const handle = createDebugHandle();
  const body = { dataset: {} as DOMStringMap };
  const env: AppEnvironment = {
    search: '',
    baseURI: 'http://127.0.0.1:5173/',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
    indexedDB: new IDBFactory(),
    hostGate: allowAll,
    createXR: () => xr.xr,
    debugHandle: handle,
    body,
    ...overrides,
  };
  return { env, xr, handle, body };
}
