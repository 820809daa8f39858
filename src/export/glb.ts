/**
 * A scene as one .glb file: the depth-displaced sphere (edge triangles removed, so no rubber
 * sheets) with the RGB panorama as its texture, written by three's GLTFExporter.
 *
 * Design notes: docs/design-notes.md ("The GLB file").
 *
 * @example
 *   const { glb } = await exportSceneGlb({ panorama, depthMapping, rgbPng, depthPng, metadata });
 *   download(new Blob([glb], { type: 'model/gltf-binary' }), 'scene.glb');
 */
import { BufferAttribute, BufferGeometry, DoubleSide, Mesh, MeshBasicMaterial, PerspectiveCamera, Scene, type Material } from 'three';
import { GLTFExporter, type GLTFExporterPlugin, type GLTFWriter } from 'three/examples/jsm/exporters/GLTFExporter.js';
import {
  buildSphereMesh,
  detectEdgeTriangles,
  displaceSphereMesh,
  keptTriangleIndices,
  poleDepths,
  segmentsForImage,
  DEFAULT_EDGE_TOLERANCE,
  type DepthMapView,
} from '../panorama/mesh';
import type { DepthMapping, RGBDPanorama } from '../panorama/types';
import { toMetadataDocument, type SceneMetadata } from './metadata';
// The key is shared with the reader (src/import/glb-read.ts), which must not pull three into the page.
import { GLB_EXTRAS_KEY } from '../import/glb-read';

export interface GlbExportInput {
  readonly panorama: RGBDPanorama;
  readonly depthMapping: DepthMapping;
  /** The RGB PNG to embed as the texture (encodeRgbPng) and for import. */
  readonly rgbPng: Uint8Array;
  /** A different PNG to texture the mesh with (the sharpened composite); default `rgbPng`. */
  readonly texturePng?: Uint8Array;
  /**
   * Depth to displace the vertices by, in the panorama's frame at any 2:1 size (the sharpened
   * composite); default the panorama's. The grid density still follows the panorama's size.
   */
  readonly displacement?: DepthMapView;
  /** The 16-bit depth PNG to embed for lossless import (encodeDepth16Png). */
  readonly depthPng: Uint8Array;
  readonly metadata: SceneMetadata;
  /** Grid cells; default `segmentsForImage(width, height)`, the density the viewer draws. */
  readonly segmentsX?: number;
  readonly segmentsY?: number;
  /** Edge rule τ (mesh.ts); default DEFAULT_EDGE_TOLERANCE, as in the viewer. */
  readonly edgeTolerance?: number;
}

export interface GlbExportResult {
  readonly glb: ArrayBuffer;
  readonly vertexCount: number;
  /** Triangles written (the grid's triangles minus the edge triangles). */
  readonly triangleCount: number;
  /** Edge triangles left out. */
  readonly removedTriangles: number;
}

/** What GLTFExporter's writer holds but its type declarations do not expose. */
interface WriterInternals {
  json: {
    images?: object[];
    samplers?: object[];
    textures?: object[];
    bufferViews?: object[];
    scenes?: { extras?: Record<string, unknown> }[];
  };
  byteOffset: number;
  processBuffer(buffer: ArrayBuffer): number;
}

/**
 * Builds the displaced mesh and writes it as a GLB. The geometry is built here from the same
 * mesh.ts functions the viewer uses (same grid, same depth sampling, same edge rule), so the file
 * is the scene as seen in the headset.
 */
export async function exportSceneGlb(input: GlbExportInput): Promise<GlbExportResult> {
  const { panorama, depthMapping } = input;
  const size = segmentsForImage(panorama.width, panorama.height);
  const sphere = buildSphereMesh(input.segmentsX ?? size.segmentsX, input.segmentsY ?? size.segmentsY);
  // Poles converge to the base panorama's pole depths, as in the viewer (uPoleDepth is the base's
  // even when a sharpened composite displaces the rest).
  const { positions, distances } = displaceSphereMesh(sphere, input.displacement ?? panorama, depthMapping, poleDepths(panorama));
  const edgeMask = detectEdgeTriangles(sphere.indices, distances, input.edgeTolerance ?? DEFAULT_EDGE_TOLERANCE);
  const kept32 = keptTriangleIndices(sphere.indices, edgeMask);
  // 16-bit indices where they fit: half the index bytes, and every viewer supports them.
  const indices = sphere.vertexCount <= 0xffff ? Uint16Array.from(kept32) : kept32;

  const geometry = new BufferGeometry();
  geometry.setAttribute('position', new BufferAttribute(positions, 3));
  geometry.setAttribute('uv', new BufferAttribute(sphere.uvs, 2));
  geometry.setIndex(new BufferAttribute(indices, 1));
  const material = new MeshBasicMaterial({ side: DoubleSide, name: 'panorama' });
  const mesh = new Mesh(geometry, material);
  mesh.name = 'panorama';
  const camera = new PerspectiveCamera(75, 16 / 9, 0.05, Math.max(100, depthMapping.far * 2));
  camera.name = 'viewer';
  const scene = new Scene();
  scene.name = 'LDM3D-XR scene';
  scene.add(mesh, camera);

  const exporter = new GLTFExporter();
  exporter.register((writer) => new EmbeddedPanoramaPlugin(writer, material, input));
  try {
    const glb = await exporter.parseAsync(scene, { binary: true, onlyVisible: false });
    if (!(glb instanceof ArrayBuffer)) throw new Error('GLTFExporter returned JSON although binary output was requested.');
    return {
      glb,
      vertexCount: sphere.vertexCount,
      triangleCount: kept32.length / 3,
      removedTriangles: sphere.triangleCount - kept32.length / 3,
    };
  } finally {
    // The geometry and material were made for this export only; nothing else holds them.
    geometry.dispose();
    material.dispose();
  }
}

/**
 * Puts the already-encoded PNGs into the GLB's binary chunk: the RGB as the material's base colour
 * texture, both as images referenced from the scene extras. GLTFExporter's own texture path would
 * re-encode through a canvas, which is slower, lossy for nothing, and absent in Node.
 */
class EmbeddedPanoramaPlugin implements GLTFExporterPlugin {
  private readonly writer: WriterInternals;
  private rgbImage = -1;

  constructor(
    writer: GLTFWriter,
    private readonly material: Material,
    private readonly input: GlbExportInput,
  ) {
    this.writer = writer as unknown as WriterInternals;
  }

  async writeMaterialAsync(material: Material, materialDef: { [key: string]: unknown }): Promise<void> {
    if (material !== this.material) return;
    const json = this.writer.json;
    this.rgbImage = this.addImage(this.input.rgbPng, 'rgb');
    const textureImage =
      this.input.texturePng && this.input.texturePng !== this.input.rgbPng ? this.addImage(this.input.texturePng, 'rgb-sharpened') : this.rgbImage;
    json.samplers ??= [];
    // LINEAR / LINEAR_MIPMAP_LINEAR; u repeats around the 360° seam, v clamps at the poles.
    const sampler = json.samplers.push({ magFilter: 9729, minFilter: 9987, wrapS: 10497, wrapT: 33071 }) - 1;
    json.textures ??= [];
    const texture = json.textures.push({ sampler, source: textureImage, name: textureImage === this.rgbImage ? 'rgb' : 'rgb-sharpened' }) - 1;
    const pbr = (materialDef.pbrMetallicRoughness ??= {}) as Record<string, unknown>;
    pbr.baseColorTexture = { index: texture };
  }

  afterParse(): void {
    const json = this.writer.json;
    const depthImage = this.addImage(this.input.depthPng, 'depth16');
    const sceneDef = json.scenes?.[0];
    if (!sceneDef) throw new Error('GLB export: the exporter wrote no scene.');
    sceneDef.extras = {
      ...sceneDef.extras,
      [GLB_EXTRAS_KEY]: {
        metadata: toMetadataDocument(this.input.metadata),
        rgbImage: this.rgbImage,
        depthImage,
      },
    };
  }

  private addImage(png: Uint8Array, name: string): number {
    const w = this.writer;
    const padded = new Uint8Array((png.byteLength + 3) & ~3);
    padded.set(png);
    w.json.bufferViews ??= [];
    const bufferView =
      w.json.bufferViews.push({ buffer: w.processBuffer(padded.buffer), byteOffset: w.byteOffset, byteLength: png.byteLength }) - 1;
    // Every bufferView must start on a 4-byte boundary; the padding keeps the next one aligned.
    w.byteOffset += padded.byteLength;
    w.json.images ??= [];
    return w.json.images.push({ mimeType: 'image/png', bufferView, name }) - 1;
  }
}
