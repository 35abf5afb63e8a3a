/**
 * onnxruntime-web's MatMul as a kernel peer: a one-node ONNX graph, built here, with the weight as
 * an initializer (as in an exported model, so onnxruntime may pre-pack it), run on the WASM
 * execution provider with the same thread count as our WASM backend.
 */
import * as ort from 'onnxruntime-web';
import { measure } from './harness.js';
import { configureOnnxRuntime } from './onnx-baseline.js';
import type { KernelCase, KernelPeer, KernelVariant } from './suites/kernel-cases.js';

/** Protobuf wire encoding, just what an ONNX ModelProto of one node needs. */
class Proto {
  private readonly parts: Uint8Array[] = [];

  private varint(value: number): void {
    const bytes: number[] = [];
    let v = value;
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
    this.parts.push(Uint8Array.from(bytes));
  }

  /** A varint field (wire type 0). */
  int(field: number, value: number): this {
    this.varint(field * 8);
    this.varint(value);
    return this;
  }

  /** A length-delimited field (wire type 2): bytes, a string or a nested message. */
  bytes(field: number, value: Uint8Array | string | Proto): this {
    const data =
      typeof value === 'string'
        ? new TextEncoder().encode(value)
        : value instanceof Proto
          ? value.finish()
          : value;
    this.varint(field * 8 + 2);
    this.varint(data.length);
    this.parts.push(data);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

const FLOAT = 1;

function valueInfo(name: string, dims: number[]): Proto {
  const shape = new Proto();
  for (const d of dims) shape.bytes(1, new Proto().int(1, d));
  const tensor = new Proto().int(1, FLOAT).bytes(2, shape);
  return new Proto().bytes(1, name).bytes(2, new Proto().bytes(1, tensor));
}

/** `Y [m, n] = X [m, k] · W [k, n]` as an ONNX model (IR 8, opset 17) with W an initializer. */
export function matmulModel(m: number, n: number, k: number, w: Float32Array): Uint8Array {
  const initializer = new Proto()
    .int(1, k)
    .int(1, n)
    .int(2, FLOAT)
    .bytes(8, 'W')
    .bytes(9, new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  const node = new Proto().bytes(1, 'X').bytes(1, 'W').bytes(2, 'Y').bytes(3, 'matmul').bytes(4, 'MatMul');
  const graph = new Proto()
    .bytes(1, node)
    .bytes(2, 'matmul')
    .bytes(5, initializer)
    .bytes(11, valueInfo('X', [m, k]))
    .bytes(12, valueInfo('Y', [m, n]));
  return new Proto()
    .int(1, 8)
    .bytes(2, 'rotor-bench')
    .bytes(7, graph)
    .bytes(8, new Proto().bytes(1, '').int(2, 17))
    .finish();
}

/** onnxruntime-web's MatMul on `threads` threads, for the `matmul` cases. */
export function onnxMatmulPeer(threads: number): KernelPeer {
  return {
    name: 'onnxruntime-web',
    threads,
    supports: (c) => c.kernel === 'matmul',
    async prepare(c: KernelCase): Promise<KernelVariant> {
      configureOnnxRuntime(threads);
      const [m, k] = c.inputs.x.shape;
      const [n] = c.inputs.w.shape;
      // Our weights are [n, k] (rows are outputs); MatMul wants [k, n].
      const w = c.inputs.w.data;
      const transposed = new Float32Array(k * n);
      for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) transposed[j * n + r] = w[r * k + j];
      const session = await ort.InferenceSession.create(matmulModel(m, n, k, transposed), {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
      });
      const feeds = { X: new ort.Tensor('float32', c.inputs.x.data, [m, k]) };
      const run = async () => {
        const { Y } = await session.run(feeds);
        const data = Y.data as Float32Array;
        Y.dispose();
        return data;
      };
      const output = await run();
      return {
        output,
        time: (options) => measure(run, options),
        dispose: () => session.release(),
      };
    },
  };
}
