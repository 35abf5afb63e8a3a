/**
 * Weights from an ONNX model's initializers (a GPT-2 export such as Hugging Face Optimum's or
 * `torch.onnx.export` of `GPT2LMHeadModel`). Only the initializers are read: the graph is not
 * executed. Exporters deduplicate identical tensors and re-expose them through `Identity` nodes
 * (`Identity(transformer.h.0.ln_1.weight) → transformer.h.1.ln_1.weight`); those aliases are
 * followed. The head count is not an initializer: it is read from the `present.0.key` output
 * (`[batch, H, sequence, Dh]`) or given as an option.
 *
 * The protobuf is decoded by protobufjs with the ONNX schema subset in `onnx-schema.ts`.
 */
import {
  FormatError,
  type HostTensor,
  InvalidArgumentError,
  type ModelConfig,
  ShapeError,
  UnsupportedError,
} from '@rotor/core';
import protobuf from 'protobufjs/light.js';
import { validateModelConfig } from '../config.js';
import { type ModelWeights, weightNames as names } from '../weights.js';
import { decodeBf16, decodeF16, decodeF32 } from './floats.js';
import { mapGpt2Tensors, type SourceTensors } from './hugging-face.js';
import {
  ONNX_DATA_TYPES,
  ONNX_SCHEMA,
  type OnnxInt64,
  type OnnxModel,
  type OnnxTensor,
} from './onnx-schema.js';

/** Options of {@link parseOnnxWeights}. */
export interface OnnxWeightsOptions {
  /** Name used in error messages. */
  source?: string;
  /** Query heads, when the graph has no `present.0.key` output to read them from. */
  numHeads?: number;
  /** LayerNorm epsilon; default 1e-5 (GPT-2's `layer_norm_epsilon`). */
  normEpsilon?: number;
}

let modelType: protobuf.Type | undefined;

function toNumber(value: OnnxInt64 | undefined): number {
  if (value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** Decodes an ONNX `ModelProto`; truncated or corrupt bytes give a `FormatError`. */
export function decodeOnnxModel(bytes: Uint8Array, source = 'model.onnx'): OnnxModel {
  modelType ??= protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');
  let model: OnnxModel;
  try {
    model = modelType.decode(bytes) as unknown as OnnxModel;
  } catch (error) {
    throw new FormatError(
      `${source}: not a valid ONNX protobuf (${error instanceof Error ? error.message : String(error)}) in ${bytes.byteLength} bytes`,
      { cause: error },
    );
  }
  if (!model.graph || model.graph.initializer.length === 0) {
    throw new FormatError(`${source}: ONNX model: expected a graph with initializers, found none`);
  }
  return model;
}

/** The float initializers by name (f32, f16, bf16 converted to f32), with `Identity` aliases resolved. */
export function onnxInitializers(model: OnnxModel, source = 'model.onnx'): Map<string, HostTensor<'f32'>> {
  const graph = model.graph!;
  const tensors = new Map<string, HostTensor<'f32'>>();
  for (const initializer of graph.initializer) {
    const tensor = readInitializer(initializer, source);
    if (tensor) tensors.set(initializer.name, tensor);
  }
  for (const node of graph.node) {
    if (node.opType !== 'Identity' || node.input.length !== 1 || node.output.length !== 1) continue;
    const target = tensors.get(node.input[0]);
    if (target && !tensors.has(node.output[0])) tensors.set(node.output[0], target);
  }
  return tensors;
}

function readInitializer(tensor: OnnxTensor, source: string): HostTensor<'f32'> | undefined {
  const { FLOAT, FLOAT16, BFLOAT16 } = ONNX_DATA_TYPES;
  if (tensor.dataType !== FLOAT && tensor.dataType !== FLOAT16 && tensor.dataType !== BFLOAT16)
    return undefined;
  const where = `${source}: initializer "${tensor.name}"`;
  if (tensor.dataLocation === 1) {
    throw new UnsupportedError(
      `${where}: external data is not supported; save the model with its data inline`,
    );
  }
  const shape = tensor.dims.map(toNumber);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new FormatError(`${where}: dims: expected non-negative integers, found [${shape.join(', ')}]`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const width = tensor.dataType === FLOAT ? 4 : 2;
  const raw = tensor.rawData;
  if (raw && raw.byteLength > 0) {
    if (raw.byteLength !== count * width) {
      throw new FormatError(
        `${where}: raw_data: expected ${count * width} bytes for shape [${shape.join(', ')}], found ${raw.byteLength}`,
      );
    }
    const data =
      tensor.dataType === FLOAT
        ? decodeF32(raw, count)
        : tensor.dataType === FLOAT16
          ? decodeF16(raw, count)
          : decodeBf16(raw, count);
    return { dtype: 'f32', shape, data };
  }
  if (tensor.dataType === FLOAT) {
    if (tensor.floatData.length !== count) {
      throw new FormatError(
        `${where}: float_data: expected ${count} values, found ${tensor.floatData.length}`,
      );
    }
    return { dtype: 'f32', shape, data: Float32Array.from(tensor.floatData) };
  }
  // f16 / bf16 without raw_data: each value's bits in int32_data
  if (tensor.int32Data.length !== count) {
    throw new FormatError(`${where}: int32_data: expected ${count} values, found ${tensor.int32Data.length}`);
  }
  const bytes = new Uint8Array(count * 2);
  tensor.int32Data.forEach((bits, i) => {
    bytes[2 * i] = bits & 0xff;
    bytes[2 * i + 1] = (bits >> 8) & 0xff;
  });
  return {
    dtype: 'f32',
    shape,
    data: tensor.dataType === FLOAT16 ? decodeF16(bytes, count) : decodeBf16(bytes, count),
  };
}

/**
 * True when `bytes` look like an ONNX `ModelProto`: field 1 `ir_version` as a small varint, then
 * another field of the model (as a llama2.c header, these bytes would be an impossible width).
 */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  return (
    bytes.byteLength > 3 &&
    bytes[0] === 0x08 &&
    bytes[1] > 0 &&
    bytes[1] < 0x20 &&
    [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42].includes(bytes[2])
  );
}

/**
 * Reads a GPT-2 ONNX model's initializers into canonical weights (pre-norm LayerNorm, tanh-GELU,
 * learned positions, tied classifier). Throws `FormatError` for malformed protobufs or missing
 * initializers, `ShapeError` for initializers of the wrong shape.
 */
export function parseOnnxWeights(
  bytes: Uint8Array | ArrayBuffer,
  options: OnnxWeightsOptions = {},
): ModelWeights {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const source = options.source ?? 'model.onnx';
  const model = decodeOnnxModel(view, source);
  const tensors = onnxInitializers(model, source);
  const find = (name: string) => tensors.get(`transformer.${name}`) ?? tensors.get(name);
  const wte = find('wte.weight');
  const wpe = find('wpe.weight');
  if (!wte || !wpe) {
    const found = [...tensors.keys()].slice(0, 5).join(', ');
    throw new UnsupportedError(
      `${source}: expected a GPT-2 export with initializers "transformer.wte.weight" and "transformer.wpe.weight", found ${found}…`,
    );
  }
  if (wte.shape.length !== 2) {
    throw new ShapeError(
      `${source}: initializer "transformer.wte.weight": expected [vocab, width], found [${wte.shape.join(', ')}]`,
    );
  }
  const [vocabSize, modelDim] = wte.shape;
  let numLayers = 0;
  while (find(`h.${numLayers}.attn.c_attn.weight`)) numLayers++;
  if (numLayers === 0)
    throw new FormatError(`${source}: initializer "transformer.h.0.attn.c_attn.weight" is missing`);
  const fc = find('h.0.mlp.c_fc.weight');
  if (!fc) throw new FormatError(`${source}: initializer "transformer.h.0.mlp.c_fc.weight" is missing`);
  const numHeads = options.numHeads ?? headsFromCacheOutput(model, source);
  if (!Number.isInteger(numHeads) || numHeads <= 0 || modelDim % numHeads !== 0) {
    throw new InvalidArgumentError(
      `${source}: numHeads: expected a divisor of the width ${modelDim}, found ${numHeads}`,
    );
  }
  const config: ModelConfig = validateModelConfig(
    {
      architecture: 'gpt2',
      modelDim,
      hiddenDim: fc.shape[1],
      numLayers,
      numHeads,
      numKvHeads: numHeads,
      headDim: modelDim / numHeads,
      vocabSize,
      maxSequenceLength: wpe.shape[0],
      norm: 'layer-norm',
      normPlacement: 'pre',
      normEpsilon: options.normEpsilon ?? 1e-5,
      mlp: 'gelu-tanh',
      tiedEmbeddings: !tensors.has('lm_head.weight'),
      positionalEncoding: { type: 'learned', weight: names.positionEmbedding },
    },
    source,
  );
  const lmHead = tensors.get('lm_head.weight');
  const sourceTensors: SourceTensors = lmHead
    ? new Map([...tensors, ['lm_head.weight', lmHead.shape[0] === vocabSize ? lmHead : transpose(lmHead)]])
    : tensors;
  return { config, tensors: mapGpt2Tensors(config, sourceTensors, source) };
}

/** `H` from the `present.0.key` graph output, `[batch, H, sequence, Dh]`. */
function headsFromCacheOutput(model: OnnxModel, source: string): number {
  const output = model.graph!.output.find((o) => o.name === 'present.0.key');
  const dims = output?.type?.tensorType?.shape?.dim;
  const heads = dims && dims.length === 4 ? toNumber(dims[1].dimValue) : 0;
  if (heads > 0) return heads;
  throw new InvalidArgumentError(
    `${source}: the head count is not in the graph (no "present.0.key" output with a fixed head dimension); pass numHeads`,
  );
}

function transpose(t: HostTensor<'f32'>): HostTensor<'f32'> {
  const [rows, columns] = t.shape;
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < columns; c++) out[c * rows + r] = t.data[r * columns + c];
  return { dtype: 'f32', shape: [columns, rows], data: out };
}
