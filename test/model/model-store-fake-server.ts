/**
 * A fake HTTP server for model-store tests: serves a manifest and its files through an injected
 * `fetch`, records every request, and can drop a connection midway, ignore Range headers,
 * corrupt or withhold a file — the failures the store must survive.
 */
import type { Manifest, ManifestFile } from '../../src/model/manifest';
import { sha256Hex } from '../../src/model/model-store-sha256';

export const BASE = 'https://models.example/tiny/ldm3d-pano/';

export interface FakeRequest {
  readonly path: string;
  readonly range: string | null;
}

export interface FakeServerOptions {
  /** Honour `Range: bytes=N-` with 206 (default true). */
  readonly ranges?: boolean;
  /** Size of the pieces the body stream yields. */
  readonly pieceBytes?: number;
}

export class FakeServer {
  readonly requests: FakeRequest[] = [];
  /** path → drop the connection after this many body bytes of the next response (once). */
  readonly dropAfter = new Map<string, number>();
  /** paths answered with 404. */
  readonly missing = new Set<string>();
  /** path → bytes served instead of the real ones. */
  readonly replaced = new Map<string, Uint8Array>();
  /** Throw a network TypeError for every request while true. */
  offline = false;
  ranges: boolean;
  readonly pieceBytes: number;

  constructor(
    readonly files: Map<string, Uint8Array>,
    readonly manifest: Manifest,
    options: FakeServerOptions = {},
  ) {
    this.ranges = options.ranges ?? true;
    this.pieceBytes = options.pieceBytes ?? 1000;
  }

  /** Bytes of file bodies sent so far (manifest excluded). */
  get bodyBytesSent(): number {
    return this.sent;
  }
  private sent = 0;

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    if (this.offline) throw new TypeError('fetch failed');
    if (!url.startsWith(BASE)) return new Response('not here', { status: 404 });
    const path = url.slice(BASE.length);
    const range = new Headers(init?.headers).get('range');
    this.requests.push({ path, range });
    if (path === 'manifest.json') return new Response(JSON.stringify(this.manifest), { status: 200 });
    const real = this.files.get(path);
    if (!real || this.missing.has(path)) return new Response('Not Found', { status: 404 });
    const bytes = this.replaced.get(path) ?? real;
    let start = 0;
    let status = 200;
    const headers = new Headers({ 'content-type': 'application/octet-stream' });
    if (range && this.ranges) {
      const m = /^bytes=(\d+)-$/.exec(range);
      if (!m) return new Response(null, { status: 416 });
      start = Number(m[1]);
      if (start >= bytes.length) return new Response(null, { status: 416 });
      status = 206;
      headers.set('content-range', `bytes ${start}-${bytes.length - 1}/${bytes.length}`);
    }
    headers.set('content-length', String(bytes.length - start));
    const drop = this.dropAfter.get(path);
    this.dropAfter.delete(path);
    const body = bytes.subarray(start);
    const piece = this.pieceBytes;
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        if (drop !== undefined && offset >= drop) {
          controller.error(new TypeError('network connection was lost'));
          return;
        }
        if (offset >= body.length) {
          controller.close();
          return;
        }
        const end = Math.min(body.length, offset + piece, drop ?? Number.POSITIVE_INFINITY);
        const chunk = body.slice(offset, end);
        offset = end;
        this.sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    return new Response(stream, { status, headers });
  };
}

export function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A manifest shaped like the export's, for the given files. */
export function makeManifest(files: Map<string, Uint8Array>, extra: Partial<Manifest> = {}): Manifest {
  const list: ManifestFile[] = [...files].map(([path, bytes]) => ({
    path,
    bytes: bytes.length,
    sha256: sha256Hex(bytes),
    kind: path.endsWith('.onnx') ? 'onnx' : path.endsWith('.json') ? 'tokenizer' : 'onnx-data',
  }));
  return {
    format: 'ldm3d-xr-manifest@1',
    pipeline: 'ldm3d-pano',
    model_id: 'test/tiny',
    license: 'test',
    test_weights: true,
    dtype: 'float32',
    image: { height: 64, width: 128 },
    vae_scale_factor: 8,
    vae_scaling_factor: 0.18215,
    latent_channels: 4,
    unet_in_channels: 4,
    vae_out_channels: 4,
    text: { max_length: 77, hidden_size: 32, bos_token_id: 0, eos_token_id: 1, pad_token_id: 1 },
    defaults: { num_inference_steps: 3, guidance_scale: 7, scheduler: 'ddim' },
    scheduler: {},
    files: list,
    sessions: {
      text_encoder: { file: 'text_encoder/model.onnx', external_data: [], inputs: [], outputs: [] },
      unet: { file: 'unet/model.onnx', external_data: ['model.onnx_data'], inputs: [], outputs: [] },
      vae_decoder: { file: 'vae_decoder/model.onnx', external_data: [], inputs: [], outputs: [] },
      vae_encoder: { file: 'vae_encoder/model.onnx', external_data: [], inputs: [], outputs: [] },
    },
    tokenizer: { files: ['tokenizer/tokenizer.json'] },
    ...extra,
  };
}

export function standardFiles(): Map<string, Uint8Array> {
  return new Map([
    ['tokenizer/tokenizer.json', new TextEncoder().encode('{"model":"tiny"}')],
    ['text_encoder/model.onnx', bytesOf(3_000, 1)],
    ['unet/model.onnx', bytesOf(2_000, 2)],
    ['unet/model.onnx_data', bytesOf(50_000, 3)],
    ['vae_decoder/model.onnx', bytesOf(4_000, 4)],
    ['vae_encoder/model.onnx', bytesOf(4_500, 5)],
  ]);
}
