/**
 * A minimal ONNX protobuf reader: only what the runtime needs to know how large a graph's tensors
 * are before onnxruntime sees it (limits.ts): every initializer's dims and element type (also those
 * stored as external data, whose bytes are not needed), the graph's inputs, outputs and value_info
 * shapes, and each node's op, domain, inputs, outputs and integer attributes. Everything else, raw
 * weight bytes included, is skipped without being copied, so reading a graph costs one pass over
 * its bytes.
 *
 *   const g = readGraph(bytes);
 *   for (const t of g.initializers) console.log(t.name, t.dims, t.elemType);
 *
 * Field numbers are those of onnx/onnx.proto (the same as onnx-proto.ts, which writes graphs).
 */

/** Bytes per element of TensorProto.DataType values; absent: not a fixed-size type (string) or unknown. */
const ELEM_BYTES: Readonly<Record<number, number>> = {
  1: 4, // FLOAT
  2: 1, // UINT8
  3: 1, // INT8
  4: 2, // UINT16
  5: 2, // INT16
  6: 4, // INT32
  7: 8, // INT64
  9: 1, // BOOL
  10: 2, // FLOAT16
  11: 8, // DOUBLE
  12: 4, // UINT32
  13: 8, // UINT64
  16: 2, // BFLOAT16
};

/** Bytes per element of an ONNX element type, or null when it has no fixed size. */
export function elemBytes(elemType: number): number | null {
  return ELEM_BYTES[elemType] ?? null;
}

export interface GraphTensor {
  readonly name: string;
  /** TensorProto.DataType (1 float32, 7 int64, 10 float16, ...). */
  readonly elemType: number;
  /** Fixed dims; symbolic ones are strings (the exporter's expression, e.g. "batch" or "2*height"); null: unknown. */
  readonly dims: ReadonlyArray<number | string | null>;
}

export interface GraphNode {
  readonly op: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Integer attributes only (num_heads, axis, ...). */
  readonly ints: Readonly<Record<string, number>>;
}

export interface GraphInfo {
  /** Weights, with fixed dims (an initializer cannot have symbolic ones). */
  readonly initializers: readonly GraphTensor[];
  readonly inputs: readonly GraphTensor[];
  readonly outputs: readonly GraphTensor[];
  /** Shapes the exporter inferred for intermediate values; absent from graphs exported without them. */
  readonly valueInfo: readonly GraphTensor[];
  readonly nodes: readonly GraphNode[];
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class ProtoReader {
  pos: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number: exact up to 2^53, which covers every size and dim a graph can hold. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        // Ten-byte varints are negative int64s; only dims and attribute ints can be negative here.
        return i === 9 || result >= 2 ** 63 ? result - 2 ** 64 : result;
      }
      scale *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  }

  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t % 8 };
  }

  /** A length-delimited field as a reader over its bytes (no copy). */
  sub(): ProtoReader {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new Error('truncated field');
    this.pos += len;
    return new ProtoReader(this.buf, start, start + len);
  }

  str(): string {
    const r = this.sub();
    return new TextDecoder().decode(this.buf.subarray(r.pos, r.end));
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_LEN) this.sub();
    else if (wire === WIRE_I32) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** Repeated int64 field: packed (wire 2) or one value per tag (wire 0). */
function readInts(r: ProtoReader, wire: number, into: number[]): void {
  if (wire === WIRE_LEN) {
    const p = r.sub();
    while (!p.done) into.push(p.varint());
  } else into.push(r.varint());
}

function readTensorProto(r: ProtoReader): GraphTensor {
  let name = '';
  let elemType = 0;
  const dims: number[] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1) readInts(r, wire, dims);
    else if (field === 2 && wire === WIRE_VARINT) elemType = r.varint();
    else if (field === 8 && wire === WIRE_LEN) name = r.str();
    else r.skip(wire);
  }
  return { name, elemType, dims };
}

function readDim(r: ProtoReader): number | string | null {
  let dim: number | string | null = null;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) dim = r.varint();
    else if (field === 2 && wire === WIRE_LEN) dim = r.str() || null;
    else r.skip(wire);
  }
  return dim;
}

function readValueInfo(r: ProtoReader): GraphTensor | null {
  let name = '';
  let elemType = 0;
  let dims: Array<number | string | null> | null = null;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) name = r.str();
    else if (field === 2 && wire === WIRE_LEN) {
      // TypeProto → tensor_type (1) → elem_type (1), shape (2) → dim (1)
      const type = r.sub();
      while (!type.done) {
        const t = type.tag();
        if (t.field !== 1 || t.wire !== WIRE_LEN) {
          type.skip(t.wire);
          continue;
        }
        const tensor = type.sub();
        while (!tensor.done) {
          const f = tensor.tag();
          if (f.field === 1 && f.wire === WIRE_VARINT) elemType = tensor.varint();
          else if (f.field === 2 && f.wire === WIRE_LEN) {
            const shape = tensor.sub();
            dims = [];
            while (!shape.done) {
              const d = shape.tag();
              if (d.field === 1 && d.wire === WIRE_LEN) dims.push(readDim(shape.sub()));
              else shape.skip(d.wire);
            }
          } else tensor.skip(f.wire);
        }
      }
    } else r.skip(wire);
  }
  // A value without a tensor shape (rank unknown, or not a tensor) says nothing about its size.
  return dims === null ? null : { name, elemType, dims };
}

function readNode(r: ProtoReader): GraphNode {
  let op = '';
  let domain = '';
  const inputs: string[] = [];
  const outputs: string[] = [];
  const ints: Record<string, number> = {};
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) inputs.push(r.str());
    else if (field === 2 && wire === WIRE_LEN) outputs.push(r.str());
    else if (field === 4 && wire === WIRE_LEN) op = r.str();
    else if (field === 7 && wire === WIRE_LEN) domain = r.str();
    else if (field === 5 && wire === WIRE_LEN) {
      const a = r.sub();
      let name = '';
      let i: number | null = null;
      while (!a.done) {
        const t = a.tag();
        if (t.field === 1 && t.wire === WIRE_LEN) name = a.str();
        else if (t.field === 3 && t.wire === WIRE_VARINT) i = a.varint();
        else a.skip(t.wire);
      }
      if (name && i !== null) ints[name] = i;
    } else r.skip(wire);
  }
  return { op, domain, inputs, outputs, ints };
}

/** Reads a ModelProto's main graph (not the subgraphs of If/Loop nodes, which our exports do not have). */
export function readGraph(model: Uint8Array): GraphInfo {
  const initializers: GraphTensor[] = [];
  const inputs: GraphTensor[] = [];
  const outputs: GraphTensor[] = [];
  const valueInfo: GraphTensor[] = [];
  const nodes: GraphNode[] = [];
  const m = new ProtoReader(model);
  let found = false;
  while (!m.done) {
    const { field, wire } = m.tag();
    if (field !== 7 || wire !== WIRE_LEN) {
      m.skip(wire);
      continue;
    }
    found = true;
    const g = m.sub();
    while (!g.done) {
      const { field: f, wire: w } = g.tag();
      if (w !== WIRE_LEN) g.skip(w);
      else if (f === 1) nodes.push(readNode(g.sub()));
      else if (f === 5) initializers.push(readTensorProto(g.sub()));
      else if (f === 11 || f === 12 || f === 13) {
        const v = readValueInfo(g.sub());
        if (v) (f === 11 ? inputs : f === 12 ? outputs : valueInfo).push(v);
      } else g.skip(w);
    }
  }
  if (!found) throw new Error('not an ONNX model (no graph)');
  return { initializers, inputs, outputs, valueInfo, nodes };
}
