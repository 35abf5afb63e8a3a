/**
 * Host side of each kernel: resolve handles, validate with the reference backend's `validate*`
 * (so both backends reject the same inputs with the same errors), check aliasing, then call the
 * compiled kernel on addresses. Only matmul and attention are worth splitting across threads.
 */
import type { KernelAttrs, KernelInputs, KernelName, TensorHandle } from '@rotor/core';
import { validateAdd } from '../reference/add.js';
import { validateApplyRotary } from '../reference/apply-rotary.js';
import { type AttentionPlan, validateAttention } from '../reference/attention.js';
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
import { resolveWasmTensor, WasmTensor } from './wasm-tensor.js';

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
const QUANTIZED_MATMUL_ARGS: number[] = new Array(9).fill(0);
const ATTENTION_ARGS: number[] = new Array(20).fill(0);

/** What the kernels need from their backend. */
export interface KernelHost {
  readonly owner: object;
  readonly kernels: KernelExports;
  /** Changes whenever a tensor is disposed; remembered calls of another epoch are validated again. */
  readonly epoch: number;
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

/**
 * The plan remembered for this exact call (`kernel` keyed on tensor `key`, with the same other
 * handles and attribute, no tensor disposed since), or undefined: then validate and `remember`.
 */
function recall<P>(
  host: KernelHost,
  kernel: KernelName,
  key: unknown,
  first: unknown,
  second: unknown,
  out: unknown,
  attribute: unknown,
): P | undefined {
  if (!(key instanceof WasmTensor)) return undefined;
  const memos = key.memos;
  for (let i = 0; i < memos.length; i++) {
    const m = memos[i];
    if (m.kernel !== kernel) continue;
    const same =
      m.epoch === host.epoch &&
      m.first === first &&
      m.second === second &&
      m.out === out &&
      m.attribute === attribute;
    return same ? (m.plan as P) : undefined;
  }
  return undefined;
}

/** Keeps a validated call's plan on `key` for {@link recall}; returns the plan. */
function remember<P>(
  host: KernelHost,
  kernel: KernelName,
  key: WasmTensor,
  first: unknown,
  second: unknown,
  out: unknown,
  attribute: unknown,
  plan: P,
): P {
  let m = key.memos.find((memo) => memo.kernel === kernel);
  if (m === undefined) {
    m = { kernel, epoch: 0, first, second, out, attribute, plan };
    key.memos.push(m);
  }
  m.epoch = host.epoch;
  m.first = first;
  m.second = second;
  m.out = out;
  m.attribute = attribute;
  m.plan = plan;
  return plan;
}

/** A validated matmul: addresses, sizes, and the f32 kernel's argument list. */
interface MatmulCall {
  readonly x: number;
  readonly w: number;
  readonly scales: number;
  readonly bias: number;
  readonly out: number;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly weightType: 'f32' | 'f16' | 'q8_0' | 'q4_0';
  readonly args: readonly number[];
  /** Rows per thread share's boundary: whole blocks (and the matvec's row groups) of w. */
  readonly align: number;
}

/** The matmuls' row stride s for K-wide rows of `rowBytes` bytes (`rowStride` in assembly/vector.ts). */
function rowStride(K: number, rowBytes: number): number {
  return K >= 256 && rowBytes >= 256 && rowBytes < 16384 ? Math.min(8, Math.ceil(16384 / rowBytes)) : 1;
}

function checkMatmul(host: KernelHost, inputs: KernelInputs<'matmul'>, outHandle: TensorHandle): MatmulCall {
  const x = resolve(host, 'matmul', 'inputs.x', inputs.x);
  const w = resolve(host, 'matmul', 'inputs.w', inputs.w);
  const bias = optional(host, 'matmul', 'inputs.bias', inputs.bias);
  const out = resolve(host, 'matmul', 'out', outHandle);
  const { M, K, N, weightType } = validateMatmul(inputs, out);
  requireNoOverlap('matmul', out, 'inputs.x', x, false);
  requireNoOverlap('matmul', out, 'inputs.w', w, false);
  if (bias) requireNoOverlap('matmul', out, 'inputs.bias', bias, false);
  const b = bias?.address ?? 0;
  return remember(host, 'matmul', w, x, bias, out, undefined, {
    x: x.address,
    w: w.address,
    scales: w.scales,
    bias: b,
    out: out.address,
    M,
    K,
    N,
    weightType,
    args: [x.address, w.address, b, out.address, M, K, N],
    // the f32 GEMM (M > 1) reads consecutive rows
    align:
      8 *
      (weightType !== 'f32'
        ? rowStride(K, weightType === 'q8_0' ? K : K / 2)
        : M === 1
          ? rowStride(K, 4 * K)
          : 1),
  });
}

/** A validated element-wise or row-wise call: addresses and sizes. */
interface RowsCall {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly out: number;
  readonly M: number;
  readonly N: number;
  /** epsilon (norms), 1 when b broadcasts (add, mul), 1 for tanh (gelu). */
  readonly parameter: number;
}

/** rmsNorm, or layerNorm (with its optional bias in `z`): `y` is the weight, `parameter` epsilon. */
function checkNorm(
  host: KernelHost,
  kernel: 'rmsNorm' | 'layerNorm',
  inputs: KernelInputs<'layerNorm'>,
  attrs: KernelAttrs<'layerNorm'>,
  outHandle: TensorHandle,
): RowsCall {
  const x = resolve(host, kernel, 'inputs.x', inputs.x);
  const weight = resolve(host, kernel, 'inputs.weight', inputs.weight);
  const bias = kernel === 'layerNorm' ? optional(host, kernel, 'inputs.bias', inputs.bias) : undefined;
  const out = resolve(host, kernel, 'out', outHandle);
  const { M, D, epsilon } =
    kernel === 'rmsNorm' ? validateRmsNorm(inputs, attrs, out) : validateLayerNorm(inputs, attrs, out);
  requireNoOverlap(kernel, out, 'inputs.x', x, true);
  requireNoOverlap(kernel, out, 'inputs.weight', weight, false);
  if (bias) requireNoOverlap(kernel, out, 'inputs.bias', bias, false);
  const call = {
    x: x.address,
    y: weight.address,
    z: bias?.address ?? 0,
    out: out.address,
    M,
    N: D,
    parameter: epsilon,
  };
  return remember(host, kernel, weight, x, bias, out, attrs.epsilon, call);
}

function checkSilu(host: KernelHost, inputs: KernelInputs<'silu'>, outHandle: TensorHandle): RowsCall {
  const x = resolve(host, 'silu', 'inputs.x', inputs.x);
  const out = resolve(host, 'silu', 'out', outHandle);
  const size = validateSilu(inputs, out);
  requireNoOverlap('silu', out, 'inputs.x', x, true);
  const call = { x: x.address, y: 0, z: 0, out: out.address, M: 1, N: size, parameter: 0 };
  return remember(host, 'silu', x, undefined, undefined, out, undefined, call);
}

function checkGelu(
  host: KernelHost,
  inputs: KernelInputs<'gelu'>,
  attrs: KernelAttrs<'gelu'>,
  outHandle: TensorHandle,
): RowsCall {
  const x = resolve(host, 'gelu', 'inputs.x', inputs.x);
  const out = resolve(host, 'gelu', 'out', outHandle);
  const size = validateGelu(inputs, attrs, out);
  requireNoOverlap('gelu', out, 'inputs.x', x, true);
  const tanh = attrs.approximate === 'tanh' ? 1 : 0;
  const call = { x: x.address, y: 0, z: 0, out: out.address, M: 1, N: size, parameter: tanh };
  return remember(host, 'gelu', x, undefined, undefined, out, attrs.approximate, call);
}

function checkBinary(
  host: KernelHost,
  kernel: 'add' | 'mul',
  inputs: KernelInputs<'add'>,
  outHandle: TensorHandle,
): RowsCall {
  const a = resolve(host, kernel, 'inputs.a', inputs.a);
  const b = resolve(host, kernel, 'inputs.b', inputs.b);
  const out = resolve(host, kernel, 'out', outHandle);
  const { M, N, broadcast } = kernel === 'add' ? validateAdd(inputs, out) : validateMul(inputs, out);
  requireNoOverlap(kernel, out, 'inputs.a', a, true);
  requireNoOverlap(kernel, out, 'inputs.b', b, !broadcast);
  const call = { x: a.address, y: b.address, z: 0, out: out.address, M, N, parameter: broadcast ? 1 : 0 };
  return remember(host, kernel, b, a, undefined, out, undefined, call);
}

/** The sizes the attention kernels are dispatched by. */
type AttentionShape = Pick<AttentionPlan, 'B' | 'T' | 'S' | 'H' | 'Hkv' | 'Dh'>;

/** A validated attention call without per-sequence lengths, starts or score bias: any kvOffset fits. */
interface AttentionCall extends AttentionShape, Pick<AttentionPlan, 'causal'> {
  /** `attrs.scale` as given (undefined: 1 / sqrt(Dh)). */
  readonly scale: number | undefined;
  /** The kernel's arguments; slot 10 (kvOffset) is rewritten by each call. */
  readonly args: number[];
}

/** True when `attrs` asks for what `call` validated, at a kvOffset within the cache. */
function attentionFits(call: AttentionCall, attrs: KernelAttrs<'attention'>): boolean {
  const offset = attrs.kvOffset;
  return (
    attrs.numHeads === call.H &&
    attrs.numKvHeads === call.Hkv &&
    attrs.headDim === call.Dh &&
    attrs.causal === call.causal &&
    attrs.scale === call.scale &&
    attrs.validLengths === undefined &&
    attrs.sequenceStarts === undefined &&
    attrs.scoreBias === undefined &&
    Number.isInteger(offset) &&
    offset >= 0 &&
    offset <= call.S - call.T
  );
}

/** Runs the decode or the prefill attention kernel on validated arguments. */
function runAttention(
  host: KernelHost,
  args: readonly number[],
  shape: AttentionShape,
  kvOffset: number,
): void {
  const { B, T, S, H, Hkv, Dh } = shape;
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
}

/** A validated rotation of one sequence's rows (no `sequenceStarts`): any position offset up to `lastOffset` fits. */
interface RotaryCall {
  /** The kernel's arguments before positionOffset and the starts address. */
  readonly args: readonly number[];
  readonly H: number;
  readonly Dh: number;
  readonly R: number;
  readonly lastOffset: number;
}

/** True when `attrs` asks for what `call` validated (its layout was compared by `recall`). */
function rotaryFits(call: RotaryCall, attrs: KernelAttrs<'applyRotary'>): boolean {
  const offset = attrs.positionOffset;
  return (
    attrs.numHeads === call.H &&
    attrs.headDim === call.Dh &&
    attrs.rotaryDim === call.R &&
    attrs.sequenceStarts === undefined &&
    Number.isInteger(offset) &&
    offset >= 0 &&
    offset <= call.lastOffset
  );
}

/** The rotary kernel on validated arguments (spelled out: `apply` through the JS-to-wasm wrapper costs more). */
function rotate(host: KernelHost, a: readonly number[], positionOffset: number, starts: number): void {
  host.kernels.applyRotary(
    a[0],
    a[1],
    a[2],
    a[3],
    a[4],
    a[5],
    a[6],
    a[7],
    a[8],
    a[9],
    positionOffset,
    starts,
  );
}

/** A validated writeRows: any row offset up to Rout - R fits. */
interface WriteRowsCall {
  readonly src: number;
  readonly out: number;
  readonly B: number;
  readonly R: number;
  readonly Rout: number;
  readonly N: number;
}

function writeRowsOf(host: KernelHost, call: WriteRowsCall, rowOffset: number): void {
  const { B, R, Rout, N } = call;
  for (let b = 0; b < B; b++) {
    host.kernels.writeRows(call.src + b * R * N * 4, call.out + b * Rout * N * 4, R, N, rowOffset);
  }
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
    const call =
      recall<MatmulCall>(host, 'matmul', inputs.w, inputs.x, inputs.bias, outHandle, undefined) ??
      checkMatmul(host, inputs, outHandle);
    const { M, K, N } = call;
    if (call.weightType === 'f32') {
      // shares hold whole 8-row blocks (and page groups), so any split sums like one thread
      host.parallel('matmul', call.args, N, call.align, M * N * K);
      return;
    }
    // x quantised once on this thread (int16 values, then f32 block scales), read by every thread
    const valueBytes = M * K * 2;
    const xq = host.workspace(valueBytes + (M * K) / 8);
    host.kernels.quantizeRows(call.x, xq, xq + valueBytes, M, K);
    const args = QUANTIZED_MATMUL_ARGS;
    args[0] = xq;
    args[1] = xq + valueBytes;
    args[2] = call.w;
    args[3] = call.scales;
    args[4] = call.bias;
    args[5] = call.out;
    args[6] = M;
    args[7] = K;
    args[8] = N;
    // shares hold whole 8-row blocks (and row groups)
    host.parallel(call.weightType === 'q8_0' ? 'matmulQ8' : 'matmulQ4', args, N, call.align, M * N * K);
  },

  attention(host, inputs, attrs, outHandle) {
    const call = recall<AttentionCall>(host, 'attention', inputs.k, inputs.q, inputs.v, outHandle, undefined);
    if (call !== undefined && attentionFits(call, attrs)) {
      call.args[10] = attrs.kvOffset;
      runAttention(host, call.args, call, attrs.kvOffset);
      return;
    }
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
    if (validLengths === undefined && sequenceStarts === undefined && scoreBias === undefined) {
      // nothing in the attribute space: the argument list stays valid for any kvOffset
      const shape = { B, T, S, H, Hkv, Dh, causal, scale: attrs.scale, args: args.slice() };
      remember(host, 'attention', k, q, v, out, undefined, shape);
    }
    runAttention(host, args, plan, kvOffset);
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
    const call =
      recall<RowsCall>(host, 'rmsNorm', inputs.weight, inputs.x, undefined, outHandle, attrs.epsilon) ??
      checkNorm(host, 'rmsNorm', inputs, attrs, outHandle);
    host.kernels.rmsNorm(call.x, call.y, call.out, call.M, call.N, call.parameter);
  },

  layerNorm(host, inputs, attrs, outHandle) {
    const call =
      recall<RowsCall>(host, 'layerNorm', inputs.weight, inputs.x, inputs.bias, outHandle, attrs.epsilon) ??
      checkNorm(host, 'layerNorm', inputs, attrs, outHandle);
    host.kernels.layerNorm(call.x, call.y, call.z, call.out, call.M, call.N, call.parameter);
  },

  softmax(host, inputs, _attrs, outHandle) {
    const x = resolve(host, 'softmax', 'inputs.x', inputs.x);
    const out = resolve(host, 'softmax', 'out', outHandle);
    const { M, N } = validateSoftmax(inputs, out);
    requireNoOverlap('softmax', out, 'inputs.x', x, true);
    host.kernels.softmax(x.address, out.address, M, N);
  },

  applyRotary(host, inputs, attrs, outHandle) {
    const call = recall<RotaryCall>(
      host,
      'applyRotary',
      inputs.x,
      inputs.cos,
      inputs.sin,
      outHandle,
      attrs.layout,
    );
    if (call !== undefined && rotaryFits(call, attrs)) {
      rotate(host, call.args, attrs.positionOffset, 0);
      return;
    }
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
    const args = [
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
    ];
    if (sequenceStarts === undefined) {
      const positions = inputs.cos.shape[0];
      remember(host, 'applyRotary', x, cos, sin, out, attrs.layout, {
        args,
        H,
        Dh,
        R,
        lastOffset: positions - T,
      });
    }
    rotate(
      host,
      args,
      positionOffset,
      sequenceStarts === undefined ? 0 : startsAddress(host, sequenceStarts),
    );
  },

  writeRows(host, inputs, attrs, outHandle) {
    const call = recall<WriteRowsCall>(
      host,
      'writeRows',
      outHandle,
      inputs.src,
      undefined,
      outHandle,
      undefined,
    );
    const offset = attrs.rowOffset;
    if (call !== undefined && Number.isInteger(offset) && offset >= 0 && offset <= call.Rout - call.R) {
      writeRowsOf(host, call, offset);
      return;
    }
    const src = resolve(host, 'writeRows', 'inputs.src', inputs.src);
    const out = resolve(host, 'writeRows', 'out', outHandle);
    const { B, R, Rout, N, rowOffset } = validateWriteRows(inputs, attrs, out);
    requireNoOverlap('writeRows', out, 'inputs.src', src, false);
    const plan = { src: src.address, out: out.address, B, R, Rout, N };
    writeRowsOf(host, remember(host, 'writeRows', out, src, undefined, out, undefined, plan), rowOffset);
  },

  silu(host, inputs, _attrs, outHandle) {
    const call =
      recall<RowsCall>(host, 'silu', inputs.x, undefined, undefined, outHandle, undefined) ??
      checkSilu(host, inputs, outHandle);
    host.kernels.silu(call.x, call.out, call.N);
  },

  gelu(host, inputs, attrs, outHandle) {
    const call =
      recall<RowsCall>(host, 'gelu', inputs.x, undefined, undefined, outHandle, attrs.approximate) ??
      checkGelu(host, inputs, attrs, outHandle);
    host.kernels.gelu(call.x, call.out, call.N, call.parameter);
  },

  add(host, inputs, _attrs, outHandle) {
    const call =
      recall<RowsCall>(host, 'add', inputs.b, inputs.a, undefined, outHandle, undefined) ??
      checkBinary(host, 'add', inputs, outHandle);
    host.kernels.add(call.x, call.y, call.out, call.M, call.N, call.parameter);
  },

  mul(host, inputs, _attrs, outHandle) {
    const call =
      recall<RowsCall>(host, 'mul', inputs.b, inputs.a, undefined, outHandle, undefined) ??
      checkBinary(host, 'mul', inputs, outHandle);
    host.kernels.mul(call.x, call.y, call.out, call.M, call.N, call.parameter);
  },
};
