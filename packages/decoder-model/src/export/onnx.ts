/**
 * Exports a Llama-family model as an ONNX graph with an explicit KV cache, built from standard
 * ONNX ops (opset 17) that onnxruntime (web, node, native) runs on every execution provider.
 *
 * Graph (B batch, T new tokens, P cached tokens, S = P + T):
 *   inputs   input_ids int64 [B, T]; past_key_values.{l}.key / .value float [B, Hkv, P, Dh]
 *   outputs  logits float [B, T, V]; present.{l}.key / .value float [B, Hkv, S, Dh]
 * Positions are `P .. P+T-1` (P read from the first past key), the causal mask is built in the
 * graph, RoPE tables (with any scaling, from the model's positional encoding) are initializers
 * gathered by position, GQA expands key/value heads. Weights are stored `[in, out]` for `MatMul`.
 * The protobuf is written by protobufjs with the schema subset in `loaders/onnx-schema.ts`.
 */
import { type ModelConfig, type PositionalEncoding, UnsupportedError } from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import protobuf from 'protobufjs/light.js';
import { ONNX_SCHEMA } from '../loaders/onnx-schema.js';
import { type ModelWeights, weightNames as names } from '../weights.js';

/**
 * Which ops the graph uses. `standard`: ONNX opset 17 only, runs everywhere. `contrib`: the form
 * Hugging Face Optimum exports, with onnxruntime's fused kernels — `GroupQueryAttention` (rotary
 * applied in-kernel), `SimplifiedLayerNormalization` and `SkipSimplifiedLayerNormalization`
 * (residual add fused with the next RMSNorm); onnxruntime only, and its CPU attention kernel wants
 * a head size that is a multiple of 16.
 */
export type OnnxExportForm = 'standard' | 'contrib';

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** Longest sequence the exported graph's RoPE tables cover. Default: the model's context. */
  maxSequenceLength?: number;
  /** Op set of the graph; default `standard`. */
  form?: OnnxExportForm;
}

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;
const LOWEST_FLOAT32 = -3.4028234663852886e38;
const MICROSOFT = 'com.microsoft';

type Attribute = { name: string; type: number; i?: number; f?: number; ints?: number[] };

/** An attribute value: an integer, a list of integers, or a float wrapped as `{ float }`. */
type AttributeValue = number | number[] | { float: number };

/** Accumulates nodes and initializers; every value gets a fresh name. */
class GraphBuilder {
  readonly nodes: unknown[] = [];
  readonly initializers: unknown[] = [];
  private counter = 0;

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  /** A float initializer; `[in, out]` data as given. */
  floats(name: string, dims: number[], data: Float32Array): string {
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: raw });
    return name;
  }

  /** An int64 constant initializer. */
  int64s(dims: number[], values: number[]): string {
    const name = this.fresh('const');
    const raw = new Uint8Array(BigInt64Array.from(values, BigInt).buffer);
    this.initializers.push({ name, dims, dataType: INT64, rawData: raw });
    return name;
  }

  /** An int32 constant initializer. */
  int32s(dims: number[], values: number[]): string {
    const name = this.fresh('const');
    const raw = new Uint8Array(Int32Array.from(values).buffer);
    this.initializers.push({ name, dims, dataType: INT32, rawData: raw });
    return name;
  }

  /** A float scalar constant. */
  scalar(value: number): string {
    return this.floats(this.fresh('scalar'), [], Float32Array.of(value));
  }

  /**
   * Adds a node and returns its output names: `outputs` fresh names, or the given list (an empty
   * name skips an optional output). `opType` `com.microsoft:Name` selects onnxruntime's domain.
   */
  op(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    outputs: number | string[] = 1,
  ): string[] {
    const [domain, type] = opType.startsWith(`${MICROSOFT}:`)
      ? [MICROSOFT, opType.slice(MICROSOFT.length + 1)]
      : ['', opType];
    const out = Array.isArray(outputs)
      ? outputs
      : Array.from({ length: outputs }, () => this.fresh(type.toLowerCase()));
    const attribute: Attribute[] = Object.entries(attributes).map(([name, value]) =>
      Array.isArray(value)
        ? { name, type: ATTRIBUTE_INTS, ints: value }
        : typeof value === 'number'
          ? { name, type: ATTRIBUTE_INT, i: value }
          : { name, type: ATTRIBUTE_FLOAT, f: value.float },
    );
    this.nodes.push({
      opType: type,
      domain,
      input: inputs,
      output: out,
      name: this.fresh(`node_${type}`),
      attribute,
    });
    return out;
  }

  /** Single-output {@link op}. */
  one(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    return this.op(opType, inputs, attributes)[0];
  }

  /** A fresh value name, for outputs given to {@link op} explicitly. */
  name(hint: string): string {
    return this.fresh(hint);
  }
}

function transposed(data: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = data[r * columns + c];
  return out;
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Writes `weights` (a Llama-family model: pre-norm RMSNorm, SwiGLU, RoPE with full rotary width,
 * optional q/k/v biases, tied or separate classifier) as an ONNX model.
 */
export function exportOnnx(weights: ModelWeights, options: OnnxExportOptions = {}): Uint8Array {
  const { config } = weights;
  if (config.norm !== 'rms-norm' || config.normPlacement !== 'pre' || config.mlp !== 'swiglu') {
    throw new UnsupportedError(
      `ONNX export: only the Llama block (pre rms-norm, swiglu) is exported, found ${config.normPlacement} ${config.norm}, ${config.mlp}`,
    );
  }
  const maxPositions = options.maxSequenceLength ?? config.maxSequenceLength;
  const encoding = rotaryEncoding(config, maxPositions);
  const tables = encoding.rotary!(0, maxPositions);
  if (tables.rotaryDim !== config.headDim) {
    throw new UnsupportedError(
      `ONNX export: partial rotary (rotaryDim ${tables.rotaryDim} < headDim ${config.headDim}) is not exported`,
    );
  }
  const tensor = (name: string) => {
    const t = weights.tensors.get(name);
    if (!t) throw new UnsupportedError(`ONNX export: tensor "${name}" is missing`);
    return t.data;
  };
  const { modelDim: D, hiddenDim: F, vocabSize: V, numHeads: H, numKvHeads: Hkv, headDim: Dh } = config;
  const form = options.form ?? 'standard';
  if (form !== 'standard' && form !== 'contrib') {
    throw new UnsupportedError(`ONNX export: form: expected "standard" or "contrib", found ${String(form)}`);
  }
  const half = Dh / 2;
  const interleaved = tables.layout === 'interleaved';
  const attentionScale = tables.attentionFactor / Math.sqrt(Dh);
  const g = new GraphBuilder();
  const cosTable = g.floats('rope.cos', [maxPositions, half], tables.cos);
  const sinTable = g.floats('rope.sin', [maxPositions, half], tables.sin);

  // P cached tokens (from the first past key [B, Hkv, P, Dh]), T new ones (input_ids [B, T])
  const past = g.one('Gather', [g.one('Shape', ['past_key_values.0.key']), g.int64s([], [2])], { axis: 0 });
  const count = g.one('Gather', [g.one('Shape', ['input_ids']), g.int64s([], [1])], { axis: 0 });
  const total = g.one('Add', [past, count]);

  const linear = (x: string, name: string, rows: number, columns: number, bias?: string) => {
    const product = g.one('MatMul', [
      x,
      g.floats(`${name}.T`, [columns, rows], transposed(tensor(name), rows, columns)),
    ]);
    const data = bias && weights.tensors.get(bias)?.data;
    return data ? g.one('Add', [product, g.floats(bias, [rows], data)]) : product;
  };
  const normWeight = (name: string) => g.floats(name, [D], tensor(name));
  const inputs = [valueInfo('input_ids', INT64, ['batch', 'sequence'])];
  const outputs = [valueInfo('logits', FLOAT, ['batch', 'sequence', V])];

  /** Attention of one layer over its cache; returns `[B, T, H*Dh]` and names the present outputs. */
  let attend: (q: string, k: string, v: string, l: number) => string;
  /** `(x + delta, norm(x + delta))`, or `(x, norm(x))` without a delta. */
  let addAndNorm: (x: string, delta: string | undefined, weight: string) => [string, string];

  if (form === 'standard') {
    const one = g.int64s([], [1]);
    const queryPositions = g.one('Range', [past, total, one]); // [T]
    const keyPositions = g.one('Range', [g.int64s([], [0]), total, one]); // [S]
    // mask [T, S]: 0 where key <= query, the lowest float32 after
    const future = g.one('Greater', [
      g.one('Unsqueeze', [keyPositions, g.int64s([1], [0])]),
      g.one('Unsqueeze', [queryPositions, g.int64s([1], [1])]),
    ]);
    const mask = g.one('Where', [future, g.scalar(LOWEST_FLOAT32), g.scalar(0)]);
    // cos, sin [T, half] for this window, shaped to broadcast over the rotary pair layout
    const pairAxes = g.int64s([2], interleaved ? [1, 3] : [1, 2]);
    const cos = g.one('Unsqueeze', [g.one('Gather', [cosTable, queryPositions], { axis: 0 }), pairAxes]);
    const sin = g.one('Unsqueeze', [g.one('Gather', [sinTable, queryPositions], { axis: 0 }), pairAxes]);
    const rotate = (x: string, heads: number) => {
      // [B, T, heads*Dh] → pairs [B, T, heads, half, 2] (interleaved) or [B, T, heads, 2, half]
      const pairs = g.one('Reshape', [
        x,
        g.int64s([5], interleaved ? [0, 0, heads, half, 2] : [0, 0, heads, 2, half]),
      ]);
      const [x0, x1] = g.op('Split', [pairs], { axis: interleaved ? 4 : 3 }, 2);
      const r0 = g.one('Sub', [g.one('Mul', [x0, cos]), g.one('Mul', [x1, sin])]);
      const r1 = g.one('Add', [g.one('Mul', [x0, sin]), g.one('Mul', [x1, cos])]);
      const joined = g.one('Concat', [r0, r1], { axis: interleaved ? 4 : 3 });
      return g.one('Reshape', [joined, g.int64s([4], [0, 0, heads, Dh])]); // [B, T, heads, Dh]
    };
    const scale = g.scalar(attentionScale);
    const group = g.int64s([5], [1, 1, H / Hkv, 1, 1]);
    attend = (qFlat, kFlat, vFlat, l) => {
      const q = rotate(qFlat, H); // [B, T, H, Dh]
      const k = rotate(kFlat, Hkv); // [B, T, Hkv, Dh]
      const v = g.one('Reshape', [vFlat, g.int64s([4], [0, 0, Hkv, Dh])]);
      // present [B, Hkv, S, Dh] = past ++ new
      const presentKey = `present.${l}.key`;
      const presentValue = `present.${l}.value`;
      g.op(
        'Concat',
        [`past_key_values.${l}.key`, g.one('Transpose', [k], { perm: [0, 2, 1, 3] })],
        { axis: 2 },
        [presentKey],
      );
      g.op(
        'Concat',
        [`past_key_values.${l}.value`, g.one('Transpose', [v], { perm: [0, 2, 1, 3] })],
        { axis: 2 },
        [presentValue],
      );
      // GQA: each key/value head serves H/Hkv query heads → [B, H, S, Dh]
      const expand = (cache: string) =>
        g.one('Reshape', [
          g.one('Expand', [g.one('Unsqueeze', [cache, g.int64s([1], [2])]), group]),
          g.int64s([4], [0, H, -1, Dh]),
        ]);
      // scores [B, H, T, S] = q kᵀ · scale + mask
      const queries = g.one('Transpose', [q], { perm: [0, 2, 1, 3] });
      const keysT = g.one('Transpose', [expand(presentKey)], { perm: [0, 1, 3, 2] });
      const scores = g.one('Add', [g.one('Mul', [g.one('MatMul', [queries, keysT]), scale]), mask]);
      const weighted = g.one('MatMul', [g.one('Softmax', [scores], { axis: -1 }), expand(presentValue)]);
      return g.one('Reshape', [
        g.one('Transpose', [weighted], { perm: [0, 2, 1, 3] }),
        g.int64s([3], [0, 0, H * Dh]),
      ]);
    };
    const epsilon = g.scalar(config.normEpsilon);
    addAndNorm = (x, delta, weight) => {
      const sum = delta ? g.one('Add', [x, delta]) : x;
      const meanSquare = g.one('ReduceMean', [g.one('Mul', [sum, sum])], { axes: [-1], keepdims: 1 });
      const inverse = g.one('Reciprocal', [g.one('Sqrt', [g.one('Add', [meanSquare, epsilon])])]);
      return [sum, g.one('Mul', [g.one('Mul', [sum, inverse]), normWeight(weight)])];
    };
  } else {
    // GroupQueryAttention wants seqlens_k = S - 1 per sequence [B] and S, both int32.
    const totalInt = g.one('Cast', [total], { to: INT32 });
    const batch = g.one('Slice', [g.one('Shape', ['input_ids']), g.int64s([1], [0]), g.int64s([1], [1])]);
    const seqlens = g.one('Expand', [g.one('Sub', [totalInt, g.int32s([], [1])]), batch]);
    attend = (q, k, v, l) =>
      g.op(
        `${MICROSOFT}:GroupQueryAttention`,
        [
          q,
          k,
          v,
          `past_key_values.${l}.key`,
          `past_key_values.${l}.value`,
          seqlens,
          totalInt,
          cosTable,
          sinTable,
        ],
        {
          num_heads: H,
          kv_num_heads: Hkv,
          scale: { float: attentionScale },
          do_rotary: 1,
          rotary_interleaved: interleaved ? 1 : 0,
        },
        [g.name('attention'), `present.${l}.key`, `present.${l}.value`],
      )[0];
    const epsilon = { float: config.normEpsilon };
    addAndNorm = (x, delta, weight) => {
      if (!delta)
        return [x, g.one('SimplifiedLayerNormalization', [x, normWeight(weight)], { axis: -1, epsilon })];
      const sum = g.name('residual');
      const normed = g.name('normed');
      g.op(`${MICROSOFT}:SkipSimplifiedLayerNormalization`, [x, delta, normWeight(weight)], { epsilon }, [
        normed,
        '',
        '',
        sum,
      ]);
      return [sum, normed];
    };
  }

  // x [B, T, D]: token embeddings; `pending` is the last sub-layer output not yet added to x
  let x = g.one(
    'Gather',
    [g.floats(names.tokenEmbedding, [V, D], tensor(names.tokenEmbedding)), 'input_ids'],
    {
      axis: 0,
    },
  );
  let pending: string | undefined;
  for (let l = 0; l < config.numLayers; l++) {
    const pastKey = `past_key_values.${l}.key`;
    const pastValue = `past_key_values.${l}.value`;
    inputs.push(
      valueInfo(pastKey, FLOAT, ['batch', Hkv, 'past', Dh]),
      valueInfo(pastValue, FLOAT, ['batch', Hkv, 'past', Dh]),
    );
    outputs.push(
      valueInfo(`present.${l}.key`, FLOAT, ['batch', Hkv, 'total', Dh]),
      valueInfo(`present.${l}.value`, FLOAT, ['batch', Hkv, 'total', Dh]),
    );
    let normed: string;
    [x, normed] = addAndNorm(x, pending, names.attentionNorm(l));
    const q = linear(normed, names.wq(l), H * Dh, D, names.wqBias(l)); // [B, T, H*Dh]
    const k = linear(normed, names.wk(l), Hkv * Dh, D, names.wkBias(l)); // [B, T, Hkv*Dh]
    const v = linear(normed, names.wv(l), Hkv * Dh, D, names.wvBias(l)); // [B, T, Hkv*Dh]
    const attention = attend(q, k, v, l); // [B, T, H*Dh]
    [x, normed] = addAndNorm(x, linear(attention, names.wo(l), D, H * Dh), names.ffnNorm(l));
    // feed-forward: w2 (silu(w1 n) * w3 n), added to x by the next addAndNorm
    const gate = linear(normed, names.w1(l), F, D);
    const up = linear(normed, names.w3(l), F, D);
    const hidden = g.one('Mul', [g.one('Mul', [gate, g.one('Sigmoid', [gate])]), up]);
    pending = linear(hidden, names.w2(l), D, F);
  }
  const [, final] = addAndNorm(x, pending, names.finalNorm);
  const classifier = config.tiedEmbeddings ? names.tokenEmbedding : names.classifier;
  g.op('MatMul', [final, g.floats('classifier.T', [D, V], transposed(tensor(classifier), V, D))], {}, [
    'logits',
  ]);

  const model = {
    irVersion: 8,
    producerName: 'rotor',
    opsetImport: [
      { domain: '', version: 17 },
      ...(form === 'contrib' ? [{ domain: MICROSOFT, version: 1 }] : []),
    ],
    graph: {
      name: 'rotor-decoder',
      node: g.nodes,
      initializer: g.initializers,
      input: inputs,
      output: outputs,
    },
  };
  const type = protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');
  return type.encode(type.fromObject(model)).finish();
}

/** The model's own rotary encoding bound to its dimensions (throws for non-rotary or length-dependent ones). */
function rotaryEncoding(config: ModelConfig, maxPositions: number): PositionalEncoding {
  const encoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions,
  });
  if (!encoding.hooks.rotary || !encoding.rotary || encoding.lengthDependent) {
    throw new UnsupportedError(
      `ONNX export: positional encoding "${encoding.type}" is not exported (only rotary encodings whose angles do not depend on the sequence length)`,
    );
  }
  return encoding;
}
