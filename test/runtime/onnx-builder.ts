/**
 * A minimal ONNX protobuf writer for runtime tests: builds small graphs (Add, Mul, Identity, ...)
 * in memory so src/runtime can be tested without Python or the exported models.
 * Field numbers follow onnx/onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto,
 * TypeProto, TensorShapeProto, TensorProto).
 */

const ELEM_TYPE = { float32: 1, int64: 7 } as const;
export type ElemType = keyof typeof ELEM_TYPE;

class Writer {
  private readonly bytes: number[] = [];

  varint(v: number | bigint): this {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      this.bytes.push(b);
    } while (x !== 0n);
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    return this.tag(field, 0).varint(v);
  }

  raw(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.raw(field, new TextEncoder().encode(s));
  }

  msg(field: number, build: (w: Writer) => void): this {
    const w = new Writer();
    build(w);
    return this.raw(field, w.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export interface ValueSpec {
  name: string;
  type: ElemType;
  /** Numbers are fixed dims, strings symbolic ones; [] is a rank-0 scalar. */
  shape: Array<number | string>;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
}

export interface InitializerSpec {
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface GraphSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  opset?: number;
}

function valueInfo(w: Writer, v: ValueSpec): void {
  w.str(1, v.name);
  w.msg(2, (t) =>
    t.msg(1, (tt) => {
      tt.int(1, ELEM_TYPE[v.type]);
      tt.msg(2, (shape) => {
        for (const d of v.shape) {
          shape.msg(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.str(2, d)));
        }
      });
    }),
  );
}

export function buildModel(spec: GraphSpec): Uint8Array {
  const m = new Writer();
  m.int(1, 8); // ir_version
  m.str(2, 'ldm3d-xr-test');
  m.msg(8, (o) => o.str(1, '').int(2, spec.opset ?? 17));
  m.msg(7, (g) => {
    spec.nodes.forEach((n, i) =>
      g.msg(1, (nw) => {
        for (const x of n.inputs) nw.str(1, x);
        for (const y of n.outputs) nw.str(2, y);
        nw.str(3, `n${i}`);
        nw.str(4, n.op);
      }),
    );
    g.str(2, 'g');
    for (const init of spec.initializers ?? []) {
      g.msg(5, (t) => {
        for (const d of init.dims) t.int(1, d);
        t.int(2, ELEM_TYPE.float32);
        t.str(8, init.name);
        t.raw(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
      });
    }
    for (const v of spec.inputs) g.msg(11, (w) => valueInfo(w, v));
    for (const v of spec.outputs) g.msg(12, (w) => valueInfo(w, v));
  });
  return m.finish();
}
