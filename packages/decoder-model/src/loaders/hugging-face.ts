/**
 * Hugging Face Transformers conventions shared by the safetensors and ONNX loaders: `config.json`
 * → {@link ModelConfig}, and the GPT-2 / Llama parameter names → canonical {@link weightNames}.
 *
 * GPT-2 stores its projections as `Conv1D` weights `[in, out]` (transposed here to `[out, in]`)
 * with the query, key and value fused in `attn.c_attn` (split here). Hugging Face Llama
 * checkpoints keep `q_proj`/`k_proj` rows in the half-split RoPE layout, so the config maps to
 * `{"type":"rope","layout":"half-split"}` instead of permuting rows.
 */
import {
  FormatError,
  type HostTensor,
  type ModelConfig,
  type PositionalEncodingSpec,
  ShapeError,
  UnsupportedError,
} from '@rotor/core';
import { validateModelConfig } from '../config.js';
import { weightNames as names } from '../weights.js';

/** A loader's view of the source tensors: by source name, already converted to f32. */
export type SourceTensors = ReadonlyMap<string, HostTensor<'f32'>>;

/** Reads one field of a `config.json`, with a typed error naming it. */
class ConfigReader {
  constructor(
    private readonly json: Record<string, unknown>,
    private readonly source: string,
  ) {}

  integer(key: string, fallback?: number): number {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new FormatError(
        `${this.source}: "${key}": expected a positive integer, found ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  number(key: string, fallback?: number): number {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new FormatError(`${this.source}: "${key}": expected a number, found ${JSON.stringify(value)}`);
    }
    return value;
  }

  optional(key: string): unknown {
    const value = this.json[key];
    return value === null ? undefined : value;
  }
}

const GPT2_ACTIVATIONS: Record<string, ModelConfig['mlp']> = {
  gelu_new: 'gelu-tanh',
  gelu_pytorch_tanh: 'gelu-tanh',
  gelu_fast: 'gelu-tanh',
  gelu: 'gelu',
};

/** Parses a Hugging Face `config.json` of a `gpt2` or `llama`-type model (Mistral and Qwen2 share Llama's layout). */
export function configFromHuggingFace(json: unknown, source = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FormatError(`${source}: expected a JSON object, found ${JSON.stringify(json)?.slice(0, 40)}`);
  }
  const raw = json as Record<string, unknown>;
  const read = new ConfigReader(raw, source);
  const modelType = raw.model_type;
  if (modelType === 'gpt2') {
    const modelDim = read.integer('n_embd');
    const numHeads = read.integer('n_head');
    const activation = String(raw.activation_function ?? 'gelu_new');
    const mlp = GPT2_ACTIVATIONS[activation];
    if (!mlp) {
      throw new UnsupportedError(
        `${source}: "activation_function": expected one of ${Object.keys(GPT2_ACTIVATIONS).join(', ')}, found ${JSON.stringify(activation)}`,
      );
    }
    return validateModelConfig(
      {
        architecture: 'gpt2',
        modelDim,
        hiddenDim: (read.optional('n_inner') as number | undefined) ?? 4 * modelDim,
        numLayers: read.integer('n_layer'),
        numHeads,
        numKvHeads: numHeads,
        headDim: modelDim / numHeads,
        vocabSize: read.integer('vocab_size'),
        maxSequenceLength: read.integer('n_positions', raw.n_ctx as number | undefined),
        norm: 'layer-norm',
        normPlacement: 'pre',
        normEpsilon: read.number('layer_norm_epsilon', 1e-5),
        mlp,
        tiedEmbeddings: raw.tie_word_embeddings !== false,
        positionalEncoding: { type: 'learned', weight: names.positionEmbedding },
      },
      source,
    );
  }
  if (modelType === 'llama' || modelType === 'mistral' || modelType === 'qwen2') {
    const modelDim = read.integer('hidden_size');
    const numHeads = read.integer('num_attention_heads');
    const activation = raw.hidden_act ?? 'silu';
    if (activation !== 'silu') {
      throw new UnsupportedError(
        `${source}: "hidden_act": expected "silu", found ${JSON.stringify(activation)}`,
      );
    }
    if (typeof raw.sliding_window === 'number' && raw.use_sliding_window === true) {
      throw new UnsupportedError(`${source}: sliding-window attention is not supported`);
    }
    const maxSequenceLength = read.integer('max_position_embeddings');
    return validateModelConfig(
      {
        architecture: 'llama',
        modelDim,
        hiddenDim: read.integer('intermediate_size'),
        numLayers: read.integer('num_hidden_layers'),
        numHeads,
        numKvHeads: read.integer('num_key_value_heads', numHeads),
        headDim: read.integer('head_dim', modelDim / numHeads),
        vocabSize: read.integer('vocab_size'),
        maxSequenceLength,
        norm: 'rms-norm',
        normPlacement: 'pre',
        normEpsilon: read.number('rms_norm_eps', 1e-6),
        mlp: 'swiglu',
        tiedEmbeddings: raw.tie_word_embeddings === true,
        positionalEncoding: ropeSpec(read, maxSequenceLength, source),
      },
      source,
    );
  }
  throw new UnsupportedError(
    `${source}: "model_type": expected one of gpt2, llama, mistral, qwen2, found ${JSON.stringify(modelType)}`,
  );
}

/** `rope_theta` and `rope_scaling` as a `rope` spec in the half-split layout of HF checkpoints. */
function ropeSpec(read: ConfigReader, maxPositions: number, source: string): PositionalEncodingSpec {
  const base = read.number('rope_theta', 10000);
  const scaling = read.optional('rope_scaling') as Record<string, unknown> | undefined;
  const spec = { type: 'rope', layout: 'half-split', base };
  if (scaling === undefined) return spec;
  const kind = scaling.rope_type ?? scaling.type;
  const factor = scaling.factor;
  const original = (scaling.original_max_position_embeddings as number | undefined) ?? maxPositions;
  switch (kind) {
    case 'default':
      return spec;
    case 'linear':
      return { ...spec, scaling: { type: 'linear', factor } };
    case 'dynamic':
      return { ...spec, scaling: { type: 'dynamic-ntk', factor, originalMaxPositions: original } };
    case 'yarn':
      return {
        ...spec,
        scaling: {
          type: 'yarn',
          factor,
          originalMaxPositions: original,
          ...(scaling.beta_fast !== undefined && { betaFast: scaling.beta_fast }),
          ...(scaling.beta_slow !== undefined && { betaSlow: scaling.beta_slow }),
          ...(scaling.attention_factor !== undefined && { mscale: scaling.attention_factor }),
        },
      };
    case 'llama3':
      return {
        ...spec,
        scaling: {
          type: 'llama3',
          factor,
          originalMaxPositions: original,
          lowFreqFactor: scaling.low_freq_factor ?? 1,
          highFreqFactor: scaling.high_freq_factor ?? 4,
        },
      };
    default:
      throw new UnsupportedError(
        `${source}: "rope_scaling.rope_type": expected one of default, linear, dynamic, yarn, llama3, found ${JSON.stringify(kind)}`,
      );
  }
}

/** Looks a source tensor up under each candidate name (with and without a model prefix). */
function finder(source: SourceTensors, where: string, prefixes: readonly string[]) {
  const find = (name: string) => {
    for (const prefix of prefixes) {
      const tensor = source.get(prefix + name);
      if (tensor) return tensor;
    }
    return undefined;
  };
  const require = (name: string, shape: readonly number[]) => {
    const tensor = find(name);
    if (!tensor) throw new FormatError(`${where}: tensor "${prefixes[0]}${name}" is missing`);
    const same = tensor.shape.length === shape.length && tensor.shape.every((d, i) => d === shape[i]);
    if (!same) {
      throw new ShapeError(
        `${where}: tensor "${prefixes[0]}${name}": expected shape [${shape.join(', ')}], found [${tensor.shape.join(', ')}]`,
      );
    }
    return tensor;
  };
  return { find, require };
}

function tensor(shape: number[], data: Float32Array): HostTensor<'f32'> {
  return { dtype: 'f32', shape, data };
}

/** `[rows, columns]` → `[columns, rows]`, optionally only columns `[from, from + count)` of the source. */
function transposed(source: HostTensor<'f32'>, from = 0, count = source.shape[1]): HostTensor<'f32'> {
  const [rows, columns] = source.shape;
  const out = new Float32Array(count * rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < count; c++) out[c * rows + r] = source.data[r * columns + from + c];
  }
  return tensor([count, rows], out);
}

/**
 * Maps GPT-2 parameters (`wte.weight`, `h.0.attn.c_attn.weight`, ...; an optional `transformer.`
 * prefix) to canonical tensors: Conv1D weights transposed to `[out, in]`, `c_attn` split into
 * wq, wk, wv and their biases.
 */
export function mapGpt2Tensors(
  config: ModelConfig,
  source: SourceTensors,
  where: string,
): Map<string, HostTensor<'f32'>> {
  const { require, find } = finder(source, where, ['transformer.', '']);
  const { modelDim: D, hiddenDim: F, vocabSize: V } = config;
  const out = new Map<string, HostTensor<'f32'>>();
  out.set(names.tokenEmbedding, require('wte.weight', [V, D]));
  const wpe = find('wpe.weight');
  if (!wpe) throw new FormatError(`${where}: tensor "transformer.wpe.weight" is missing`);
  if (wpe.shape.length !== 2 || wpe.shape[1] !== D) {
    throw new ShapeError(
      `${where}: tensor "transformer.wpe.weight": expected shape [positions, ${D}], found [${wpe.shape.join(', ')}]`,
    );
  }
  out.set(names.positionEmbedding, wpe);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `h.${l}.`;
    out.set(names.attentionNorm(l), require(`${p}ln_1.weight`, [D]));
    out.set(names.attentionNormBias(l), require(`${p}ln_1.bias`, [D]));
    const qkv = require(`${p}attn.c_attn.weight`, [D, 3 * D]);
    const qkvBias = require(`${p}attn.c_attn.bias`, [3 * D]);
    const parts = [
      [names.wq(l), names.wqBias(l)],
      [names.wk(l), names.wkBias(l)],
      [names.wv(l), names.wvBias(l)],
    ];
    parts.forEach(([weight, bias], i) => {
      out.set(weight, transposed(qkv, i * D, D));
      out.set(bias, tensor([D], qkvBias.data.slice(i * D, (i + 1) * D)));
    });
    out.set(names.wo(l), transposed(require(`${p}attn.c_proj.weight`, [D, D])));
    out.set(names.woBias(l), require(`${p}attn.c_proj.bias`, [D]));
    out.set(names.ffnNorm(l), require(`${p}ln_2.weight`, [D]));
    out.set(names.ffnNormBias(l), require(`${p}ln_2.bias`, [D]));
    out.set(names.w1(l), transposed(require(`${p}mlp.c_fc.weight`, [D, F])));
    out.set(names.w1Bias(l), require(`${p}mlp.c_fc.bias`, [F]));
    out.set(names.w2(l), transposed(require(`${p}mlp.c_proj.weight`, [F, D])));
    out.set(names.w2Bias(l), require(`${p}mlp.c_proj.bias`, [D]));
  }
  out.set(names.finalNorm, require('ln_f.weight', [D]));
  out.set(names.finalNormBias, require('ln_f.bias', [D]));
  if (!config.tiedEmbeddings) {
    const head = source.get('lm_head.weight');
    if (!head)
      throw new FormatError(`${where}: tensor "lm_head.weight" is missing (tie_word_embeddings is false)`);
    out.set(names.classifier, head);
  }
  return out;
}

/**
 * Maps Hugging Face Llama parameters (`model.embed_tokens.weight`, `model.layers.0.self_attn.q_proj.weight`,
 * ...) to canonical tensors. `Linear` weights are already `[out, in]`; q/k rows stay in their
 * half-split order. Optional q/k/v biases (Qwen2) are kept.
 */
export function mapLlamaTensors(
  config: ModelConfig,
  source: SourceTensors,
  where: string,
): Map<string, HostTensor<'f32'>> {
  const { require, find } = finder(source, where, ['model.', '']);
  const { modelDim: D, hiddenDim: F, vocabSize: V } = config;
  const Q = config.numHeads * config.headDim;
  const KV = config.numKvHeads * config.headDim;
  const out = new Map<string, HostTensor<'f32'>>();
  out.set(names.tokenEmbedding, require('embed_tokens.weight', [V, D]));
  for (let l = 0; l < config.numLayers; l++) {
    const p = `layers.${l}.`;
    out.set(names.attentionNorm(l), require(`${p}input_layernorm.weight`, [D]));
    const projections = [
      ['q_proj', names.wq(l), names.wqBias(l), Q],
      ['k_proj', names.wk(l), names.wkBias(l), KV],
      ['v_proj', names.wv(l), names.wvBias(l), KV],
    ] as const;
    for (const [hf, weight, bias, rows] of projections) {
      out.set(weight, require(`${p}self_attn.${hf}.weight`, [rows, D]));
      if (find(`${p}self_attn.${hf}.bias`)) out.set(bias, require(`${p}self_attn.${hf}.bias`, [rows]));
    }
    out.set(names.wo(l), require(`${p}self_attn.o_proj.weight`, [D, Q]));
    out.set(names.ffnNorm(l), require(`${p}post_attention_layernorm.weight`, [D]));
    out.set(names.w1(l), require(`${p}mlp.gate_proj.weight`, [F, D]));
    out.set(names.w2(l), require(`${p}mlp.down_proj.weight`, [D, F]));
    out.set(names.w3(l), require(`${p}mlp.up_proj.weight`, [F, D]));
  }
  out.set(names.finalNorm, require('norm.weight', [D]));
  if (!config.tiedEmbeddings) {
    const head = source.get('lm_head.weight');
    if (!head)
      throw new FormatError(`${where}: tensor "lm_head.weight" is missing (tie_word_embeddings is false)`);
    if (head.shape[0] !== V || head.shape[1] !== D) {
      throw new ShapeError(
        `${where}: tensor "lm_head.weight": expected shape [${V}, ${D}], found [${head.shape.join(', ')}]`,
      );
    }
    out.set(names.classifier, head);
  }
  return out;
}
