/**
 * WebGPU for Node (CLI, unit tests) through Dawn (npm "webgpu"). Import this only from Node code:
 * it loads a native addon and node: modules, so it must never reach the browser bundle.
 *
 *   const info = await installNodeWebGPU();   // then OrtRuntime.create({ backend: 'webgpu' })
 *
 * Call it before the first inference session of the process is created (see preferLiftoff).
 */
import { existsSync, readdirSync } from 'node:fs';
import v8 from 'node:v8';
import { create, globals } from 'webgpu';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const NVIDIA_ICDS = [
  '/usr/share/vulkan/icd.d/nvidia_icd.json',
  '/etc/vulkan/icd.d/nvidia_icd.json',
  '/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json',
];

export interface NodeWebGPUInfo {
  /** Which Vulkan driver Dawn was pointed at, for logs and metadata. */
  readonly driver: string;
  /** Dawn toggles set for this driver. */
  readonly toggles: readonly string[];
}

let installed: NodeWebGPUInfo | null = null;

/** Mesa's GPU drivers need a render node; their ICD files are installed even on machines without a GPU. */
function hasRenderNode(): boolean {
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * Tells V8 not to tier onnxruntime-web's 27 MB wasm up with TurboFan. Measured here (2 cores):
 * - with tier-up, Dawn's first createComputePipelineAsync waits for the background compile: 60–175 s
 *   (10 ms without ORT loaded); with Liftoff only, 26 ms;
 * - on WASM, creating the tiny models' sessions took 64 s with tier-up and 1.7 s with Liftoff only,
 *   with identical outputs.
 * Liftoff code runs somewhat slower, which matters only for full-size models on WASM in Node, which
 * are impractical anyway. Must run before the first inference session of the process.
 */
export function preferLiftoff(): void {
  v8.setFlagsFromString('--liftoff-only');
}

let throttled = false;

/**
 * While any GPU promise is pending (mapAsync, onSubmittedWorkDone), dawn.node polls its events by
 * re-arming the global setImmediate with a native callback (AsyncRunner::ScheduleProcessEvents):
 * a busy loop that keeps one core at 100 % while the GPU works. With SwiftShader the "GPU" is the
 * CPU, so on a 2-core machine the loop halves its speed. Native callbacks (only dawn.node passes
 * those) are re-armed with setTimeout(0) instead, i.e. polled about once a millisecond.
 * Measured on the tiny UNet + VAE: process CPU time 22–27 s → 13–14 s for the same work.
 * JS callers of setImmediate are untouched.
 */
function throttleDawnPolling(): void {
  if (throttled) return;
  throttled = true;
  const original = globalThis.setImmediate;
  const toString = Function.prototype.toString;
  const patched = function setImmediate(callback: (...a: unknown[]) => void, ...args: unknown[]) {
    if (typeof callback === 'function' && callback.name === '' && toString.call(callback).endsWith('{ [native code] }')) {
      return setTimeout(callback, 0, ...args) as unknown as NodeJS.Immediate;
    }
    return original(callback, ...args);
  };
  Object.assign(patched, original);
  globalThis.setImmediate = patched as typeof globalThis.setImmediate;
}

/**
 * Makes `navigator.gpu` and the WebGPU globals (GPUBufferUsage, GPUDevice, ...) exist in Node, the
 * way a browser has them, so src/runtime/ort.ts runs unchanged. Idempotent.
 */
export function installNodeWebGPU(): NodeWebGPUInfo {
  if (installed) return installed;

  // Dawn needs a Vulkan driver; the Vulkan loader reads these variables when Dawn creates its instance.
  let driver: string;
  const nvidia = NVIDIA_ICDS.find((f) => existsSync(f));
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) {
    driver = (process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES) as string;
  } else if (nvidia) {
    process.env.VK_DRIVER_FILES = nvidia;
    driver = nvidia;
  } else if (hasRenderNode()) {
    driver = 'the Vulkan loader\'s default (a /dev/dri render node exists)';
  } else if (existsSync(SWIFTSHADER_ICD)) {
    // No GPU: Debian 12's lavapipe is too old for Dawn, SwiftShader (from chromium) works.
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    driver = SWIFTSHADER_ICD;
  } else driver = 'none found (Dawn will try the Vulkan loader defaults)';

  preferLiftoff();

  Object.assign(globalThis, globals);
  const toggles: string[] = [];
  const gpu = create(toggles);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });

  throttleDawnPolling();

  // Dawn's writeBuffer rejects views of a SharedArrayBuffer ("Invalid argument"), and
  // onnxruntime-web's threaded wasm memory is one: copy such views into a plain ArrayBuffer.
  const queueProto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
  const original = queueProto.writeBuffer;
  queueProto.writeBuffer = function writeBuffer(
    this: GPUQueue,
    buffer: GPUBuffer,
    bufferOffset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset?: number,
    size?: number,
  ): undefined {
    let src = data;
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const bytes = new Uint8Array(data.byteLength);
      bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      // Keep the element type: dataOffset and size count elements of a typed array.
      const Ctor = (data as unknown as { constructor: new (b: ArrayBuffer) => ArrayBufferView }).constructor;
      src = new Ctor(bytes.buffer) as BufferSource;
    } else if (data instanceof SharedArrayBuffer) {
      const copy = new Uint8Array(data.byteLength);
      copy.set(new Uint8Array(data));
      src = copy.buffer;
    }
    return original.call(this, buffer, bufferOffset, src as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];

  installed = { driver, toggles };
  return installed;
}

/**
 * Drops the reference to Dawn so Node can exit (dawn.node keeps the process alive while
 * `navigator.gpu` is reachable). Only for the end of a process: ORT cannot be used afterwards.
 */
export function uninstallNodeWebGPU(): void {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav && 'gpu' in nav) delete nav.gpu;
}
