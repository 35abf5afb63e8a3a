/**
 * Host side of each kernel: resolve handles, validate with the reference backend's `validate*`
 * (so both backends reject the same inputs with the same errors), check aliasing, then call the
 * compiled kernel on addresses. Only matmul and attention are worth splitting across threads.
 */
import type { KernelAttrs, KernelInputs, KernelName, TensorHandle } from '@rotor/core';
import { validateAdd } from '../reference/add.js';
import { validateApplyRotary } from '../reference/apply-rotary.js';
import { validateAttention } from '../reference/attention.js';
import { validateEmbedding } from '../reference/embedding.js';
import { validateGelu } from '../reference/gelu.js';
import { validateLayerNorm } from '../reference/layer-norm.js';
import { validateMatmul } from '../reference/matmul.js';
import { validateMul } from '../reference/mul.js';
import { validateRmsNorm } from '../reference/rms-norm.js';
import { validateSilu } from '../reference/silu.js';
import { validateSoftmax } from '../reference/softmax.js';
import { validateWriteRows } from '../reference/write-rows.js';
import { requireNoOverlap } from '../shared/memory-checks.js';
import { resolveWasmTensor, type WasmTensor } from './wasm-tensor.js';

/** The compiled kernels' exports (addresses and sizes are numbers; see src/backends/wasm/assembly). */
export interface KernelExports {
  matmul(
    x: number,
    w: number,
    bias: number,
    out: number,
    M: number,
    K: number,
    N: number,
    n0: number,
    n1: number,
  ): void;
  quantizeRows(x: number, xq: number, xs: number, M: number, K: number): void;
  matmulQ8(...args: number[]): void;
  matmulQ4(...args: number[]): void;
  attention(...args: number[]): void;
  attentionPrefill(...args: number[]): void;
  rmsNorm(x: number, weight: number, out: number, M: number, D: number, epsilon: number): void;
  layerNorm(
    x: number,
    weight: number,
    bias: number,
    out: number,
    M: number,
    D: number,
    epsilon: number,
  ): void;
  softmax(x: number, out: number, M: number, N: number): void;
  applyRotary(...args: number[]): void;
  silu(x: number, out: number, n: number): void;
  gelu(x: number, out: number, n: number, approximate: number): void;
  add(a: number, b: number, out: number, M: number, N: number, broadcast: number): void;
  mul(a: number, b: number, out: number, M: number, N: number, broadcast: number): void;
  embedding(table: number, ids: number, out: number, T: number, D: number): void;
  writeRows(src: number, out: number, R: number, N: number, rowOffset: number): void;
}

/** Kernels a worker can run, by index in the pool's control block. */
export const PARALLEL_KERNELS = ['matmul', 'attention', 'attentionPrefill', 'matmulQ8', 'matmulQ4'] as const;

/** Keys scored per tile by the attention kernels (`TILE` in assembly/attention.ts). */
const ATTENTION_TILE = 64;

/** Queries per block of the prefill attention kernel (`QB` in assembly/attention.ts). */
const PREFILL_BLOCK = 4;

/**
 * Argument lists of the hot kernels, rewritten in place by each call (kernels run synchronously, one
 * at a time) so a decode step allocates none.
 */
const MATMUL_ARGS: number[] = new Array(7).fill(0);
const QUANTIZED_MATMUL_ARGS: number[] = new Array(9).fill(0);
const ATTENTION_ARGS: number[] = new Array(20).fill(0);

/** What the kernels need from their backend. */
export interface KernelHost {
  readonly owner: object;
  readonly kernels: KernelExports;
  /** An int32 index of at least `length` elements of per-call attribute space (ids, lengths, biases). */
  attributes(length: number): number;
  /** Byte address of at least `bytes` bytes (16-aligned) of per-call workspace shared by every thread. */
  workspace(bytes: number): number;
  /** Base address and per-thread stride of at least `bytesPerThread` bytes of scratch for each participant. */
  scratch(bytesPerThread: number): { base: number; stride: number };
  readonly floats: Float32Array;
  readonly ints: Int32Array;
  /**
   * Runs `units` units of parallel kernel `kernel` (args before its scratch/range parameters): on
   * the pool when `work` (multiply-adds) is large enough, else on this thread.
   */
  parallel(
    kernel: (typeof PARALLEL_KERNELS)[number],
    args: readonly number[],
    units: number,
    align: number,
    work: number,
    scratch?: { base: number; stride: number },
  ): void;
}

type HostKernel<K extends KernelName> = (
  host: KernelHost,
  inputs: KernelInputs<K>,
  attrs: KernelAttrs<K>,
  out: TensorHandle,
) => void;

function resolve(host: KernelHost, kernel: string, what: string, handle: unknown): WasmTensor {
  return resolveWasmTensor(kernel, what, handle, host.owner);
}

function optional(host: KernelHost, kernel: string, what: string, handle: unknown): WasmTensor | undefined {
  return handle === undefined ? undefined : resolve(host, kernel, what, handle);
}

/** Copies `sequenceStarts` into the attribute space and returns its byte address. */
function startsAddress(host: KernelHost, starts: ArrayLike<number>): number {
  const base = host.attributes(starts.length);
  const ints = host.ints;
  for (let b = 0; b < starts.length; b++) ints[base + b] = starts[b];
  return base * 4;
}

/** Every kernel's host function. */
export const HOST_KERNELS: { readonly [K in KernelName]: HostKernel<K> } = {
  matmul(host, inputs, _attrs, outHandle) {
    const x = resolve(host, 'matmul', 'inputs.x', inputs.x);
    const w = resolve(host, 'matmul', 'inputs.w', inputs.w);
    const bias = optional(host, 'matmul', 'inputs.bias', inputs.bias);
    const out = resolve(host, 'matmul', 'out', outHandle);
    const { M, K, N, weightType } = validateMatmul(inputs, out);
    requireNoOverlap('matmul', out, 'inputs.x', x, false);
    requireNoOverlap('matmul', out, 'inputs.w', w, false);
    if (bias) requireNoOverlap('matmul', out, 'inputs.bias', bias, false);
    if (weightType === 'f32') {
      const args = MATMUL_ARGS;
      args[0] = x.address;
      args[1] = w.address;
      args[2] = bias?.address ?? 0;
      args[3] = out.address;
      args[4] = M;
      args[5] = K;
      args[6] = N;
      // shares start on multiples of the matvec's 8-row blocks, so any split sums like one thread
      host.parallel('matmul', args, N, 8, M * N * K);
      return;
    }
    // x quantised once on this thread (int16 values, then f32 block scales), read by every thread
    const valueBytes = M * K * 2;
    const xq = host.workspace(valueBytes + (M * K) / 8);
    host.kernels.quantizeRows(x.address, xq, xq + valueBytes, M, K);
    const args = QUANTIZED_MATMUL_ARGS;
    args[0] = xq;
    args[1] = xq + valueBytes;
    args[2] = w.address;
    args[3] = w.scales;
    args[4] = bias?.address ?? 0;
    args[5] = out.address;
    args[6] = M;
    args[7] = K;
    args[8] = N;
    // shares start on multiples of the kernel's 8-row blocks
    host.parallel(weightType === 'q8_0' ? 'matmulQ8' : 'matmulQ4', args, N, 8, M * N * K);
  },

  attention(host, inputs, attrs, outHandle) {
    const q = resolve(host, 'attention', 'inputs.q', inputs.q);
    const k = resolve(host, 'attention', 'inputs.k', inputs.k);
    const v = resolve(host, 'attention', 'inputs.v', inputs.v);
    const out = resolve(host, 'attention', 'out', outHandle);
    const plan = validateAttention(inputs, attrs, out);
    requireNoOverlap('attention', out, 'inputs.q', q, true);
    requireNoOverlap('attention', out, 'inputs.k', k, false);
    requireNoOverlap('attention', out, 'inputs.v', v, false);
    const { B, T, S, H, Hkv, Dh, kvOffset, causal, validLengths, sequenceStarts, scale, scoreBias } = plan;
    const table =
      scoreBias === undefined ? undefined : scoreBias.type === 'alibi' ? scoreBias.slopes : scoreBias.table;
    const lengths = validLengths?.length ?? 0;
    const starts = sequenceStarts?.length ?? 0;
    const base = host.attributes(lengths + starts + (table?.length ?? 0));
    const ints = host.ints;
    for (let b = 0; b < lengths; b++) ints[base + b] = (validLengths as ArrayLike<number>)[b];
    for (let b = 0; b < starts; b++) ints[base + lengths + b] = (sequenceStarts as ArrayLike<number>)[b];
    const floats = host.floats;
    const tableIndex = base + lengths + starts;
    if (table) for (let e = 0; e < table.length; e++) floats[tableIndex + e] = table[e];
    const t5 = scoreBias?.type === 't5' ? scoreBias : undefined;
    const args = ATTENTION_ARGS;
    args[0] = q.address;
    args[1] = k.address;
    args[2] = v.address;
    args[3] = out.address;
    args[4] = B;
    args[5] = T;
    args[6] = S;
    args[7] = H;
    args[8] = Hkv;
    args[9] = Dh;
    args[10] = kvOffset;
    args[11] = causal ? 1 : 0;
    args[12] = validLengths === undefined ? 0 : base * 4;
    args[13] = sequenceStarts === undefined ? 0 : (base + lengths) * 4;
    args[14] = scale;
    args[15] = scoreBias === undefined ? 0 : scoreBias.type === 'alibi' ? 1 : 2;
    args[16] = table === undefined ? 0 : tableIndex * 4;
    args[17] = t5?.numBuckets ?? 0;
    args[18] = t5?.maxDistance ?? 0;
    args[19] = t5?.bidirectional ? 1 : 0;
    const headBytes = Math.ceil((Dh * 4) / 16) * 16;
    const work = B * T * H * (kvOffset + T) * Dh * 2;
    if (T === 1) {
      // one unit per key/value head: its G query heads share each loaded key and value row
      const scratch = host.scratch(headBytes + Math.ceil(S / 4) * 16);
      host.parallel('attention', args, B * Hkv, 1, work, scratch);
      return;
    }
    const units = B * Math.ceil(T / PREFILL_BLOCK) * H;
    const scratch = PREFILL_BLOCK * (2 * headBytes + ATTENTION_TILE * 4 + 8);
    // an even share keeps each thread's pairs of short and long causal blocks whole
    host.parallel('attentionPrefill', args, units, 2 * H, work, host.scratch(scratch));
  },

  embedding(host, inputs, attrs, outHandle) {
    const table = resolve(host, 'embedding', 'inputs.table', inputs.table);
    const out = resolve(host, 'embedding', 'out', outHandle);
    const { D, T } = validateEmbedding(inputs, attrs, out);
    requireNoOverlap('embedding', out, 'inputs.table', table, false);
    const base = host.attributes(T);
    const ints = host.ints;
    for (let t = 0; t < T; t++) ints[base + t] = attrs.ids[t];
    host.kernels.embedding(table.address, base * 4, out.address, T, D);
  },

  rmsNorm(host, inputs, attrs, outHandle) {
    const x = resolve(host, 'rmsNorm', 'inputs.x', inputs.x);
    const weight = resolve(host, 'rmsNorm', 'inputs.weight', inputs.weight);
    const out = resolve(host, 'rmsNorm', 'out', outHandle);
    const { M, D, epsilon } = validateRmsNorm(inputs, attrs, out);
    requireNoOverlap('rmsNorm', out, 'inputs.x', x, true);
    requireNoOverlap('rmsNorm', out, 'inputs.weight', weight, false);
    host.kernels.rmsNorm(x.address, weight.address, out.address, M, D, epsilon);
  },

  layerNorm(host, inputs, attrs, outHandle) {
    const x = resolve(host, 'layerNorm', 'inputs.x', inputs.x);
    const weight = resolve(host, 'layerNorm', 'inputs.weight', inputs.weight);
    const bias = optional(host, 'layerNorm', 'inputs.bias', inputs.bias);
    const out = resolve(host, 'layerNorm', 'out', outHandle);
    const { M, D, epsilon } = validateLayerNorm(inputs, attrs, out);
    requireNoOverlap('layerNorm', out, 'inputs.x', x, true);
    requireNoOverlap('layerNorm', out, 'inputs.weight', weight, false);
    if (bias) requireNoOverlap('layerNorm', out, 'inputs.bias', bias, false);
    host.kernels.layerNorm(x.address, weight.address, bias?.address ?? 0, out.address, M, D, epsilon);
  },

  softmax(host, inputs, _attrs, outHandle) {
    const x = resolve(host, 'softmax', 'inputs.x', inputs.x);
    const out = resolve(host, 'softmax', 'out', outHandle);
    const { M, N } = validateSoftmax(inputs, out);
    requireNoOverlap('softmax', out, 'inputs.x', x, true);
    host.kernels.softmax(x.address, out.address, M, N);
  },

  applyRotary(host, inputs, attrs, outHandle) {
    const x = resolve(host, 'applyRotary', 'inputs.x', inputs.x);
    const cos = resolve(host, 'applyRotary', 'inputs.cos', inputs.cos);
    const sin = resolve(host, 'applyRotary', 'inputs.sin', inputs.sin);
    const out = resolve(host, 'applyRotary', 'out', outHandle);
    const { rows, T, H, Dh, R, layout, positionOffset, sequenceStarts } = validateApplyRotary(
      inputs,
      attrs,
      out,
    );
    requireNoOverlap('applyRotary', out, 'inputs.x', x, true);
    requireNoOverlap('applyRotary', out, 'inputs.cos', cos, false);
    requireNoOverlap('applyRotary', out, 'inputs.sin', sin, false);
    host.kernels.applyRotary(
      x.address,
      cos.address,
      sin.address,
      out.address,
      rows,
      T,
      H,
      Dh,
      R,
      layout === 'interleaved' ? 1 : 0,
      positionOffset,
      sequenceStarts === undefined ? 0 : startsAddress(host, sequenceStarts),
    );
  },

  writeRows(host, inputs, attrs, outHandle) {
    const src = resolve(host, 'writeRows', 'inputs.src', inputs.src);
    const out = resolve(host, 'writeRows', 'out', outHandle);
    const { B, R, Rout, N, rowOffset } = validateWriteRows(inputs, attrs, out);
    requireNoOverlap('writeRows', out, 'inputs.src', src, false);
    for (let b = 0; b < B; b++) {
      host.kernels.writeRows(src.address + b * R * N * 4, out.address + b * Rout * N * 4, R, N, rowOffset);
    }
  },

  silu(host, inputs, _attrs, outHandle) {
    const x = resolve(host, 'silu', 'inputs.x', inputs.x);
    const out = resolve(host, 'silu', 'out', outHandle);
    const size = validateSilu(inputs, out);
    requireNoOverlap('silu', out, 'inputs.x', x, true);
    host.kernels.silu(x.address, out.address, size);
  },

  gelu(host, inputs, attrs, outHandle) {
    const x = resolve(host, 'gelu', 'inputs.x', inputs.x);
    const out = resolve(host, 'gelu', 'out', outHandle);
    const size = validateGelu(inputs, attrs, out);
    requireNoOverlap('gelu', out, 'inputs.x', x, true);
    host.kernels.gelu(x.address, out.address, size, attrs.approximate === 'tanh' ? 1 : 0);
  },

  add(host, inputs, _attrs, outHandle) {
    const a = resolve(host, 'add', 'inputs.a', inputs.a);
    const b = resolve(host, 'add', 'inputs.b', inputs.b);
    const out = resolve(host, 'add', 'out', outHandle);
    const { M, N, broadcast } = validateAdd(inputs, out);
    requireNoOverlap('add', out, 'inputs.a', a, true);
    requireNoOverlap('add', out, 'inputs.b', b, !broadcast);
    host.kernels.add(a.address, b.address, out.address, M, N, broadcast ? 1 : 0);
  },

  mul(host, inputs, _attrs, outHandle) {
    const a = resolve(host, 'mul', 'inputs.a', inputs.a);
    const b = resolve(host, 'mul', 'inputs.b', inputs.b);
    const out = resolve(host, 'mul', 'out', outHandle);
    const { M, N, broadcast } = validateMul(inputs, out);
    requireNoOverlap('mul', out, 'inputs.a', a, true);
    requireNoOverlap('mul', out, 'inputs.b', b, !broadcast);
    host.kernels.mul(a.address, b.address, out.address, M, N, broadcast ? 1 : 0);
  },
};
