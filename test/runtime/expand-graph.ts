/**
 * A graph whose one intermediate is as large as a test wants: y = column sums of x broadcast to
 * [rows, 1024], a 1024-value input and output and a rows × 4 KiB tensor the graph does not declare
 * (only ORT knows it exists). Shared by the WebGPU limits, out-of-memory and stand-in pipeline tests.
 */
import { encodeModel } from '../../src/runtime/onnx-proto';
import { cpuTensor } from '../../src/runtime/ort';

export function expandGraph(rows: number): Uint8Array {
  return encodeModel({
    inputs: [{ name: 'x', type: 'float32', shape: [1024] }],
    outputs: [{ name: 'y', type: 'float32', shape: [1024] }],
    nodes: [
      { op: 'Expand', inputs: ['x', 'shape'], outputs: ['big'] },
      { op: 'ReduceSum', inputs: ['big', 'axes'], outputs: ['y'], attributes: { keepdims: { int: 0 } } },
    ],
    initializers: [
      { name: 'shape', dims: [2], data: new BigInt64Array([BigInt(rows), 1024n]), type: 'int64' },
      { name: 'axes', dims: [1], data: new BigInt64Array([0n]), type: 'int64' },
    ],
  });
}

/** The graph's input: 1024 ones. */
export const ones = () => cpuTensor('float32', new Float32Array(1024).fill(1), [1024]);
