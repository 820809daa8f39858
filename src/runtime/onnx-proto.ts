/**
 * A minimal ONNX protobuf encoder: enough to build small graphs in memory (the fused-attention
 * self-test, runtime tests) without Python, the `onnx` package or a protobuf library.
 *
 *   const bytes = encodeModel({
 *     opsets: { '': 17, 'com.microsoft': 1 },
 *     inputs: [{ name: 'q', type: 'float32', shape: [2, 256, 80] }, ...],
 *     outputs: [{ name: 'o', type: 'float32', shape: [2, 256, 80] }],
 *     nodes: [{ op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'k', 'v'], outputs: ['o'],
 *               attributes: { num_heads: { int: 2 } } }],
 *   });
 *
 * Field numbers are those of onnx/onnx.proto: ModelProto, OperatorSetIdProto, GraphProto, NodeProto,
 * AttributeProto, ValueInfoProto, TypeProto(.Tensor), TensorShapeProto(.Dimension), TensorProto.
 */

const ELEM_TYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7 } as const;
export type OnnxElemType = keyof typeof ELEM_TYPE;

/** AttributeProto.AttributeType values. */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;

export type OnnxAttribute = { readonly int: number } | { readonly float: number } | { readonly string: string };

export interface OnnxValue {
  readonly name: string;
  readonly type: OnnxElemType;
  /** Numbers are fixed dims, strings symbolic ones; [] is a rank-0 scalar. */
  readonly shape: ReadonlyArray<number | string>;
}

export interface OnnxNode {
  readonly op: string;
  /** '' (the default) is the standard ai.onnx domain. */
  readonly domain?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
}

export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  /** float32 unless `type` says otherwise; the array must match the type. */
  readonly data: Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;
  readonly type?: OnnxElemType;
}

export interface OnnxGraph {
  readonly inputs: readonly OnnxValue[];
  readonly outputs: readonly OnnxValue[];
  readonly nodes: readonly OnnxNode[];
  readonly initializers?: readonly OnnxInitializer[];
  /** Opset version per domain; default { '': 17 }. Every domain a node uses must be listed. */
  readonly opsets?: Readonly<Record<string, number>>;
  /** ModelProto.ir_version; 8 is what ORT's opset-17 era expects and accepts. */
  readonly irVersion?: number;
  readonly name?: string;
}

class ProtoWriter {
  private readonly chunks: number[] = [];

  varint(v: number | bigint): this {
    let x = BigInt(v);
    // Negative int64 values are written as their 64-bit two's complement (10 bytes), as protobuf does.
    if (x < 0n) x += 1n << 64n;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      this.chunks.push(b);
    } while (x !== 0n);
    return this;
  }

  private tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    return this.tag(field, 0).varint(v);
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.chunks.push(x);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const b of data) this.chunks.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  msg(field: number, build: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    build(w);
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function writeValueInfo(w: ProtoWriter, v: OnnxValue): void {
  w.str(1, v.name); // ValueInfoProto.name
  w.msg(2, (type) =>
    // TypeProto.tensor_type
    type.msg(1, (tensor) => {
      tensor.int(1, ELEM_TYPE[v.type]); // elem_type
      tensor.msg(2, (shape) => {
        // TensorShapeProto.dim: dim_value (1) or dim_param (2)
        for (const d of v.shape) shape.msg(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.str(2, d)));
      });
    }),
  );
}

function writeAttribute(w: ProtoWriter, name: string, a: OnnxAttribute): void {
  w.str(1, name); // AttributeProto.name
  if ('int' in a) w.int(3, a.int).int(20, ATTR_INT);
  else if ('float' in a) w.float(2, a.float).int(20, ATTR_FLOAT);
  else w.str(4, a.string).int(20, ATTR_STRING);
}

export function encodeModel(g: OnnxGraph): Uint8Array {
  const m = new ProtoWriter();
  m.int(1, g.irVersion ?? 8); // ir_version
  m.str(2, 'ldm3d-xr'); // producer_name
  for (const [domain, version] of Object.entries(g.opsets ?? { '': 17 })) {
    m.msg(8, (o) => o.str(1, domain).int(2, version)); // opset_import
  }
  m.msg(7, (graph) => {
    g.nodes.forEach((n, i) =>
      graph.msg(1, (node) => {
        for (const x of n.inputs) node.str(1, x);
        for (const y of n.outputs) node.str(2, y);
        node.str(3, `n${i}`);
        node.str(4, n.op);
        for (const [name, a] of Object.entries(n.attributes ?? {})) node.msg(5, (w) => writeAttribute(w, name, a));
        if (n.domain) node.str(7, n.domain);
      }),
    );
    graph.str(2, g.name ?? 'g');
    for (const init of g.initializers ?? []) {
      graph.msg(5, (t) => {
        for (const d of init.dims) t.int(1, d);
        t.int(2, ELEM_TYPE[init.type ?? 'float32']);
        t.str(8, init.name);
        // raw_data is little-endian, as typed arrays are on every platform the app runs on.
        t.bytes(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
      });
    }
    for (const v of g.inputs) graph.msg(11, (w) => writeValueInfo(w, v));
    for (const v of g.outputs) graph.msg(12, (w) => writeValueInfo(w, v));
  });
  return m.finish();
}
