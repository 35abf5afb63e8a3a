/**
 * The decoder forward pass, readable top to bottom (llama2.c `run.c` `forward()` on a Backend),
 * for every architecture one configurable block covers:
 *
 * - norm: RMSNorm (Llama) or LayerNorm with bias (GPT), placed before each sub-layer (pre-norm:
 *   `x = x + Attn(N(x)); x = x + FFN(N(x))`, GPT-2, Llama) or after the residual add (post-norm:
 *   `x = N(x + Attn(x)); x = N(x + FFN(x))`, GPT-1);
 * - feed-forward: SwiGLU `w2(silu(w1 x) * w3 x)` or a GELU MLP `w2 gelu(w1 x + b1) + b2`
 *   (exact or tanh-approximated);
 * - optional biases on every projection (present exactly when the weights hold them);
 * - position from the positional-encoding plug-in: an additive table on the embeddings
 *   (sinusoidal, learned), rotary angles on queries and keys, or an in-kernel score bias;
 * - a classifier tied to the token embedding or separate.
 *
 * Legend: B sequences in this call, T tokens (slots) per sequence, p slot of the first of them, S
 * cache capacity, D model width, H / Hkv query / key-value heads, Dh head width, F feed-forward
 * width, V vocabulary.
 *
 * One sequence runs at positions equal to its cache slots. A batch ({@link DecoderModel.prefillBatch},
 * {@link DecoderModel.decodeBatch}) is left-padded: every prompt ends at the same slot, sequence b
 * starts at slot `s_b` and its token at slot j sits at position `j - s_b`. Additive tables are
 * gathered per row at those positions, rotary angles shift by `s_b` (the kernel's `sequenceStarts`),
 * attention masks the padding slots, and score biases, which depend on slot distances only, are
 * unchanged. Each weight matrix is then read once for all B rows of a decode step.
 *
 * Weight matrices may be block-quantized (q8_0/q4_0) or f16 on a backend that declares the dtype:
 * kept from the checkpoint (`ModelWeights.quantized`) or quantised at upload (`quantize`); otherwise
 * they are f32. The token embedding stays f32 for row lookups; a tied classifier then gets its own
 * compact copy, since it is the largest matmul of small models.
 *
 * Config (hyper-parameters), weights (backend tensors, uploaded once) and scratch buffers
 * (activations, KV cache; allocated once, the cache grown on the first batch that needs more
 * sequences) are kept apart. A decode step (T = 1) allocates no tensors: it runs over views made at
 * construction or at the batch's prefill.
 */
import { quantizeBlocks } from '@rotor/attention-core';
import {
  type Backend,
  ContextOverflowError,
  type HostTensor,
  InvalidArgumentError,
  type KernelAttrs,
  type ModelConfig,
  type PositionalEncoding,
  QUANT_BLOCK_SIZE,
  type RotaryLayout,
  type ScoreBiasDescriptor,
  type TensorHandle,
  UnsupportedError,
} from '@rotor/core';
import { scoreBiasAt } from '@rotor/positional-encodings';
import { kvDim, queryDim, validateModelConfig } from './config.js';
import {
  decodeStored,
  type ModelWeights,
  weightNames as names,
  optionalTensor,
  type QuantizedWeightType,
  requireMatrix,
  requireTensor,
  type StoredWeightType,
} from './weights.js';

/** Default {@link DecoderModelOptions.maxBatchSize}. */
export const DEFAULT_MAX_BATCH_SIZE = 16;

/** Largest {@link DecoderModelOptions.maxBatchSize} a model accepts. */
export const MAX_BATCH_SIZE = 256;

/** Options of {@link DecoderModel.create}. */
export interface DecoderModelOptions {
  /** Backend that stores the weights and runs the kernels. */
  backend: Backend;
  /** The positional encoding, already bound to this model's dimensions. */
  positionalEncoding: PositionalEncoding;
  /** KV-cache capacity in tokens. Default: the model's trained context, capped by the encoding's range. */
  maxSequenceLength?: number;
  /** Most rows processed by one prefill pass; longer prompts are prefilled in chunks. Default 256. */
  maxPrefillRows?: number;
  /**
   * Most sequences of one batch ({@link DecoderModel.prefillBatch}), 1 to {@link MAX_BATCH_SIZE}.
   * Default {@link DEFAULT_MAX_BATCH_SIZE}. The KV cache of a batch is allocated by the first
   * batch that needs it (B times the single-sequence cache).
   */
  maxBatchSize?: number;
  /**
   * Quantises f32 and f16 weight matrices (attention, feed-forward, classifier) to this GGUF block
   * type at upload, when the backend declares it and the matrix's input width is a multiple of 32;
   * other matrices stay f32 (or f16). Matrices the weights already hold block-quantized are kept as
   * they are.
   */
  quantize?: QuantizedWeightType;
}

interface LayerWeights {
  attentionNorm: TensorHandle; // [D]
  attentionNormBias?: TensorHandle; // [D] (layer norm)
  wq: TensorHandle; // [H*Dh, D]
  wqBias?: TensorHandle; // [H*Dh]
  wk: TensorHandle; // [Hkv*Dh, D]
  wkBias?: TensorHandle; // [Hkv*Dh]
  wv: TensorHandle; // [Hkv*Dh, D]
  wvBias?: TensorHandle; // [Hkv*Dh]
  wo: TensorHandle; // [D, H*Dh]
  woBias?: TensorHandle; // [D]
  ffnNorm: TensorHandle; // [D]
  ffnNormBias?: TensorHandle; // [D] (layer norm)
  w1: TensorHandle; // [F, D] gate (SwiGLU) or up (GELU MLP)
  w1Bias?: TensorHandle; // [F]
  w2: TensorHandle; // [D, F] down
  w2Bias?: TensorHandle; // [D]
  w3?: TensorHandle; // [F, D] up (SwiGLU only)
}

/** One layer's KV cache; `Bc` sequences (1 until a larger batch runs), sequence 0 the single-sequence one. */
interface LayerCache {
  keys: TensorHandle; // [Bc, S, Hkv*Dh]
  values: TensorHandle; // [Bc, S, Hkv*Dh]
}

/** Activation buffers, allocated once at the most rows (B*T) one pass runs. */
interface Scratch {
  rows: number;
  x: TensorHandle; // [rows, D]
  xb: TensorHandle; // [rows, D]
  xb2: TensorHandle; // [rows, D]
  q: TensorHandle; // [rows, H*Dh]
  k: TensorHandle; // [rows, Hkv*Dh]
  v: TensorHandle; // [rows, Hkv*Dh]
  attention: TensorHandle; // [rows, H*Dh]
  hb: TensorHandle; // [rows, F]
  hb2: TensorHandle; // [rows, F]
  positions: TensorHandle; // [rows, D]
  lastRows: TensorHandle; // [maxBatchSize, D]
  logits: TensorHandle; // [maxBatchSize, V]
}

/** The scratch buffers and KV caches viewed at B sequences of T rows. */
interface Activations {
  batch: number; // B
  tokens: number; // T
  rows: number; // B*T
  x: TensorHandle; // [B*T, D] residual stream
  xb: TensorHandle; // [B*T, D] normed input of a sub-layer
  xb2: TensorHandle; // [B*T, D] sub-layer output
  q: TensorHandle; // [B*T, H*Dh]
  queries: TensorHandle; // [B, T, H*Dh] the same storage as q, batch-shaped for attention
  k: TensorHandle; // [B*T, Hkv*Dh]
  keys: TensorHandle; // [B, T, Hkv*Dh] the same storage as k, batch-shaped for rotary
  v: TensorHandle; // [B*T, Hkv*Dh]
  values: TensorHandle; // [B, T, Hkv*Dh] the same storage as v, batch-shaped for the cache write
  attention: TensorHandle; // [B, T, H*Dh]
  hb: TensorHandle; // [B*T, F]
  hb2: TensorHandle; // [B*T, F]
  positions: TensorHandle; // [B*T, D] additive positions, gathered per row
  keyCaches: TensorHandle[]; // per layer [B, S, Hkv*Dh]
  valueCaches: TensorHandle[]; // per layer [B, S, Hkv*Dh]
  lastRows: TensorHandle; // [B, D] the last row of each sequence
  logits: TensorHandle; // [B, V]
  positionIds: Int32Array; // [B*T] table row of each row's position
  lastIds: Int32Array; // [B] row of each sequence's last token
}

/** Host state of length-dependent rotary angles (dynamic NTK). */
interface LengthDependentRotary {
  cos: Float32Array; // [S, R/2] the angles each cached key row was last rotated by
  sin: Float32Array; // [S, R/2]
  turnCos: Float32Array; // [S, R/2] host staging of the turn tables
  turnSin: Float32Array; // [S, R/2]
  turnCosTable: TensorHandle; // [S, R/2] cos of (new angle - old angle) per cached row
  turnSinTable: TensorHandle; // [S, R/2]
  turnAttrs: KernelAttrs<'applyRotary'>; // rows from position 0, key heads
}

/**
 * Kernel inputs and attrs reused by every call, updated in place before each `run` (backends read
 * them during the call), so a decode step allocates no argument objects either.
 */
interface KernelArgs {
  matmul: { x: TensorHandle; w: TensorHandle; bias: TensorHandle | undefined };
  binary: { a: TensorHandle; b: TensorHandle };
  unary: { x: TensorHandle };
  norm: { x: TensorHandle; weight: TensorHandle; bias: TensorHandle | undefined };
  normAttrs: { epsilon: number };
  embedding: { table: TensorHandle };
  ids: { ids: ArrayLike<number> };
  rotary: { x: TensorHandle; cos: TensorHandle; sin: TensorHandle };
  queryRotary: KernelAttrs<'applyRotary'>; // numHeads = H
  keyRotary: KernelAttrs<'applyRotary'>; // numHeads = Hkv
  writeRows: { src: TensorHandle };
  rowOffset: { rowOffset: number };
  attention: { q: TensorHandle; k: TensorHandle; v: TensorHandle };
  attentionAttrs: KernelAttrs<'attention'>;
  gelu: KernelAttrs<'gelu'>;
}

/** Attrs of kernels that take none. */
const NO_ATTRS = Object.freeze({});

/** The left-padded batch the KV cache holds (see {@link DecoderModel.prefillBatch}). */
interface BatchState {
  size: number; // B
  starts: Int32Array; // [B] slot of each sequence's first token
  length: number; // slots filled: the next token goes at this slot
  step: Activations; // views at B sequences of 1 row, reused by every decode step
}

/** A decoder-only transformer (Llama, GPT-2, GPT-1 families) on a backend, with its KV cache. */
export class DecoderModel {
  readonly config: ModelConfig;
  readonly backend: Backend;
  readonly positionalEncoding: PositionalEncoding;
  /** KV-cache capacity in tokens (per sequence). */
  readonly maxSequenceLength: number;
  /** Most sequences one batch may hold. */
  readonly maxBatchSize: number;

  private readonly tokenEmbedding: TensorHandle; // [V, D]
  private readonly positionTable?: TensorHandle; // [S, D] additive encodings only
  private readonly finalNorm?: TensorHandle; // [D]; absent only in post-norm models (GPT-1)
  private readonly finalNormBias?: TensorHandle; // [D] (layer norm)
  private readonly classifier: TensorHandle; // [V, D]
  private readonly layers: LayerWeights[];
  private readonly rotaryCos?: TensorHandle; // [S, rotaryDim/2]
  private readonly rotarySin?: TensorHandle; // [S, rotaryDim/2]
  private readonly rotaryDim: number;
  private readonly rotaryLayout: RotaryLayout = 'interleaved';
  private readonly lengthDependentRotary?: LengthDependentRotary;
  private readonly scoreBias?: ScoreBiasDescriptor;
  private readonly attentionScale: number;
  private readonly scratch: Scratch;
  private readonly args: KernelArgs;
  private readonly caches: LayerCache[] = [];
  /** Sequences each cache holds. */
  private cacheBatch = 0;
  private single!: Activations; // views at T = 1, reused by every single-sequence decode step
  private batch: BatchState | undefined;
  private readonly owned: TensorHandle[] = [];
  private disposed = false;
  /** Token ids whose keys and values sequence 0 of the cache holds, at positions `[0, cachedLength)`. */
  private readonly cachedIds: Int32Array;
  private cachedLength = 0;

  private constructor(weights: ModelWeights, options: DecoderModelOptions) {
    const config = validateModelConfig(weights.config);
    checkBlock(config);
    const { backend, positionalEncoding: encoding } = options;
    this.config = config;
    this.backend = backend;
    this.positionalEncoding = encoding;
    const capacity = options.maxSequenceLength ?? Math.min(config.maxSequenceLength, encoding.maxPositions);
    if (!Number.isInteger(capacity) || capacity <= 0 || capacity > encoding.maxPositions) {
      throw new InvalidArgumentError(
        `model: maxSequenceLength: expected an integer in [1, ${encoding.maxPositions}] (the positional encoding's range), found ${capacity}`,
      );
    }
    this.maxSequenceLength = capacity;
    const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > MAX_BATCH_SIZE) {
      throw new InvalidArgumentError(
        `model: maxBatchSize: expected an integer in [1, ${MAX_BATCH_SIZE}], found ${maxBatchSize}`,
      );
    }
    this.maxBatchSize = maxBatchSize;
    this.cachedIds = new Int32Array(capacity);
    const { modelDim: D, hiddenDim: F, vocabSize: V, numLayers } = config;
    const Q = queryDim(config);
    const KV = kvDim(config);
    const layerNorm = config.norm === 'layer-norm';
    const swiglu = config.mlp === 'swiglu';

    const upload = (name: string, shape: number[]) =>
      this.own(backend.upload(requireTensor(weights, name, shape).data, shape));
    const quantize = options.quantize;
    if (quantize !== undefined && quantize !== 'q8_0' && quantize !== 'q4_0') {
      throw new InvalidArgumentError(`model: quantize: expected "q8_0" or "q4_0", found ${String(quantize)}`);
    }
    const uploadMatrix = (name: string, shape: number[]) =>
      this.own(uploadWeightMatrix(backend, requireMatrix(weights, name, shape), quantize));
    const uploadOptional = (name: string, shape: number[]) => {
      const tensor = optionalTensor(weights, name, shape);
      return tensor && this.own(backend.upload(tensor.data, shape));
    };
    const normBias = (name: string) => (layerNorm ? uploadOptional(name, [D]) : undefined);
    this.tokenEmbedding = upload(names.tokenEmbedding, [V, D]);
    this.finalNorm =
      config.normPlacement === 'pre' ? upload(names.finalNorm, [D]) : uploadOptional(names.finalNorm, [D]);
    this.finalNormBias = this.finalNorm && normBias(names.finalNormBias);
    // A tied classifier shares the f32 embedding unless it can be stored compact (its own copy).
    const declared = (dtype: string | undefined) =>
      dtype !== undefined && (backend.capabilities.dtypes as readonly string[]).includes(dtype);
    const keptClassifier = weights.quantized?.has(names.classifier)
      ? requireMatrix(weights, names.classifier, [V, D])
      : undefined;
    const tiedSource =
      keptClassifier && declared(keptClassifier.dtype)
        ? keptClassifier
        : declared(quantize) && D % QUANT_BLOCK_SIZE === 0
          ? requireTensor(weights, names.tokenEmbedding, [V, D])
          : undefined;
    this.classifier = !config.tiedEmbeddings
      ? uploadMatrix(names.classifier, [V, D])
      : tiedSource
        ? this.own(uploadWeightMatrix(backend, tiedSource, quantize))
        : this.tokenEmbedding;
    this.layers = [];
    for (let l = 0; l < numLayers; l++) {
      this.layers.push({
        attentionNorm: upload(names.attentionNorm(l), [D]),
        attentionNormBias: normBias(names.attentionNormBias(l)),
        wq: uploadMatrix(names.wq(l), [Q, D]),
        wqBias: uploadOptional(names.wqBias(l), [Q]),
        wk: uploadMatrix(names.wk(l), [KV, D]),
        wkBias: uploadOptional(names.wkBias(l), [KV]),
        wv: uploadMatrix(names.wv(l), [KV, D]),
        wvBias: uploadOptional(names.wvBias(l), [KV]),
        wo: uploadMatrix(names.wo(l), [D, Q]),
        woBias: uploadOptional(names.woBias(l), [D]),
        ffnNorm: upload(names.ffnNorm(l), [D]),
        ffnNormBias: normBias(names.ffnNormBias(l)),
        w1: uploadMatrix(names.w1(l), [F, D]),
        w1Bias: uploadOptional(names.w1Bias(l), [F]),
        w2: uploadMatrix(names.w2(l), [D, F]),
        w2Bias: uploadOptional(names.w2Bias(l), [D]),
        w3: swiglu ? uploadMatrix(names.w3(l), [F, D]) : undefined,
      });
    }

    if (encoding.hooks.additive && encoding.additive) {
      // Uploaded once for every position, so each row (of any sequence of a batch) gathers its own.
      this.positionTable = this.own(backend.upload(encoding.additive(0, capacity), [capacity, D]));
    }
    let attentionFactor = 1;
    this.rotaryDim = 0;
    if (encoding.hooks.rotary && encoding.rotary) {
      const tables = encoding.rotary(0, capacity);
      this.rotaryDim = tables.rotaryDim;
      this.rotaryLayout = tables.layout;
      attentionFactor = tables.attentionFactor;
      this.rotaryCos = this.own(backend.upload(tables.cos, [capacity, tables.rotaryDim / 2]));
      this.rotarySin = this.own(backend.upload(tables.sin, [capacity, tables.rotaryDim / 2]));
      if (encoding.lengthDependent) {
        this.lengthDependentRotary = {
          cos: Float32Array.from(tables.cos),
          sin: Float32Array.from(tables.sin),
          turnCos: new Float32Array(tables.cos.length),
          turnSin: new Float32Array(tables.sin.length),
          turnCosTable: this.own(backend.allocate([capacity, tables.rotaryDim / 2])),
          turnSinTable: this.own(backend.allocate([capacity, tables.rotaryDim / 2])),
          turnAttrs: {
            numHeads: config.numKvHeads,
            headDim: config.headDim,
            rotaryDim: tables.rotaryDim,
            layout: tables.layout,
            positionOffset: 0,
          },
        };
      }
      if (!backend.capabilities.rotaryLayouts.includes(tables.layout)) {
        throw new UnsupportedError(
          `backend ${backend.name}: rotary layout "${tables.layout}" is not supported`,
        );
      }
    }
    if (encoding.hooks.scoreBias && encoding.scoreBias) {
      this.scoreBias = encoding.scoreBias();
      if (!backend.capabilities.scoreBias.includes(this.scoreBias.type)) {
        throw new UnsupportedError(
          `backend ${backend.name}: score bias "${this.scoreBias.type}" is not supported`,
        );
      }
    }
    this.attentionScale = attentionFactor / Math.sqrt(config.headDim);

    // At least one row per sequence, so a batch's decode step runs in one pass.
    const rows = Math.max(Math.min(capacity, options.maxPrefillRows ?? 256), maxBatchSize);
    const allocate = (shape: number[]) => this.own(backend.allocate(shape));
    this.scratch = {
      rows,
      x: allocate([rows, D]),
      xb: allocate([rows, D]),
      xb2: allocate([rows, D]),
      q: allocate([rows, Q]),
      k: allocate([rows, KV]),
      v: allocate([rows, KV]),
      attention: allocate([rows, Q]),
      hb: allocate([rows, F]),
      hb2: allocate([rows, F]),
      positions: allocate([rows, D]),
      lastRows: allocate([maxBatchSize, D]),
      logits: allocate([maxBatchSize, V]),
    };
    const none = this.tokenEmbedding; // a placeholder: each call sets its own tensors first
    const rotary = { headDim: config.headDim, rotaryDim: this.rotaryDim, layout: this.rotaryLayout };
    this.args = {
      matmul: { x: none, w: none, bias: undefined },
      binary: { a: none, b: none },
      unary: { x: none },
      norm: { x: none, weight: none, bias: undefined },
      normAttrs: { epsilon: config.normEpsilon },
      embedding: { table: none },
      ids: { ids: [] },
      rotary: { x: none, cos: none, sin: none },
      queryRotary: { ...rotary, numHeads: config.numHeads, positionOffset: 0, sequenceStarts: undefined },
      keyRotary: { ...rotary, numHeads: config.numKvHeads, positionOffset: 0, sequenceStarts: undefined },
      writeRows: { src: none },
      rowOffset: { rowOffset: 0 },
      attention: { q: none, k: none, v: none },
      attentionAttrs: {
        numHeads: config.numHeads,
        numKvHeads: config.numKvHeads,
        headDim: config.headDim,
        kvOffset: 0,
        causal: true,
        sequenceStarts: undefined,
        scale: this.attentionScale,
        scoreBias: this.scoreBias,
      },
      gelu: { approximate: config.mlp === 'gelu-tanh' ? 'tanh' : 'none' },
    };
    this.growCaches(1);
  }

  /** Uploads `weights` to `options.backend` and allocates the KV cache and scratch buffers. */
  static async create(weights: ModelWeights, options: DecoderModelOptions): Promise<DecoderModel> {
    const model = new DecoderModel(weights, options);
    await options.backend.sync();
    return model;
  }

  /**
   * Runs `ids` at positions `[start, start + ids.length)`, filling the KV cache, and writes the
   * logits of the last position into `logits` (`[V]`, allocated when absent), which it returns.
   * The cache must already hold positions `[0, start)`. Ends any batch {@link prefillBatch} started.
   */
  async forward(ids: ArrayLike<number>, start: number, logits?: Float32Array): Promise<Float32Array> {
    this.checkUsable();
    const count = ids.length;
    if (count === 0)
      throw new InvalidArgumentError('model.forward: expected at least one token id, found none');
    if (!Number.isInteger(start) || start < 0) {
      throw new InvalidArgumentError(`model.forward: start: expected an integer >= 0, found ${start}`);
    }
    if (start + count > this.maxSequenceLength) {
      throw new ContextOverflowError(
        `model.forward: positions ${start}..${start + count - 1} exceed the context of ${this.maxSequenceLength} tokens`,
      );
    }
    this.checkIds(ids, 'model.forward: ids');
    if (start > this.cachedLength) {
      throw new InvalidArgumentError(
        `model.forward: start: expected at most ${this.cachedLength} (the tokens the cache holds), found ${start}`,
      );
    }
    // Rows from `start` on are overwritten: forget them first, so a failure leaves the record safe.
    this.cachedLength = start;
    this.batch = undefined;
    let done = 0;
    let a = this.single;
    while (done < count) {
      const rows = Math.min(this.scratch.rows, count - done);
      a = rows === 1 ? this.single : this.viewActivations(1, rows);
      const chunk = done === 0 && rows === count ? ids : Array.prototype.slice.call(ids, done, done + rows);
      this.layersForward(a, chunk, start + done);
      done += rows;
    }
    for (let i = 0; i < count; i++) this.cachedIds[start + i] = ids[i];
    this.cachedLength = start + count;
    return this.classify(a, logits ?? new Float32Array(this.config.vocabSize));
  }

  /** How many leading tokens of `ids` the KV cache already holds (their keys and values can be reused). */
  cachedPrefixLength(ids: ArrayLike<number>): number {
    const limit = Math.min(this.cachedLength, ids.length);
    let common = 0;
    while (common < limit && this.cachedIds[common] === ids[common]) common++;
    return common;
  }

  /**
   * Starts a batch: runs B prompts together in a fresh cache of B sequences and writes the logits
   * of each prompt's last token into `logits` (`[B, V]`, allocated when absent), which it returns.
   * The prompts are left-padded to the longest, L tokens: all end at slot L - 1 and the next
   * {@link decodeBatch} feeds slot L, while each sequence keeps its own positions (from 0).
   * Throws `InvalidArgumentError` for no prompts, more than {@link maxBatchSize}, an empty prompt
   * or an id outside the vocabulary; `ContextOverflowError` for a prompt longer than the context;
   * `UnsupportedError` for a positional encoding whose angles depend on the sequence length. The
   * single-sequence cache is overwritten (the next {@link forward} starts from position 0).
   */
  async prefillBatch(prompts: readonly ArrayLike<number>[], logits?: Float32Array): Promise<Float32Array> {
    this.checkUsable();
    const where = 'model.prefillBatch';
    const B = Array.isArray(prompts) ? prompts.length : 0;
    if (B === 0 || B > this.maxBatchSize) {
      throw new InvalidArgumentError(
        `${where}: expected an array of 1 to ${this.maxBatchSize} prompts (maxBatchSize), found ${Array.isArray(prompts) ? B : typeof prompts}`,
      );
    }
    let L = 0;
    for (let b = 0; b < B; b++) {
      const n = prompts[b]?.length;
      if (!Number.isInteger(n) || n === 0) {
        throw new InvalidArgumentError(`${where}: prompts[${b}]: expected at least one token id, found none`);
      }
      if (n > this.maxSequenceLength) {
        throw new ContextOverflowError(
          `${where}: prompts[${b}]: ${n} tokens exceed the context of ${this.maxSequenceLength} tokens`,
        );
      }
      this.checkIds(prompts[b], `${where}: prompts[${b}]`);
      L = Math.max(L, n);
    }
    if (this.positionalEncoding.lengthDependent && this.rotaryCos) {
      throw new UnsupportedError(
        `${where}: the "${this.positionalEncoding.type}" encoding's rotary angles depend on the sequence length, which differs between the sequences of a batch; run them one at a time`,
      );
    }
    const V = this.config.vocabSize;
    const out = logits ?? new Float32Array(B * V);
    if (out.length < B * V) {
      throw new InvalidArgumentError(
        `${where}: logits: expected at least ${B * V} values (B * V), found ${out.length}`,
      );
    }
    this.cachedLength = 0;
    this.batch = undefined;
    this.growCaches(B);
    const starts = Int32Array.from(prompts, (ids) => L - ids.length);
    const chunkStarts = new Int32Array(B);
    const slots = Math.floor(this.scratch.rows / B);
    let a = this.single;
    for (let p = 0; p < L; p += slots) {
      const T = Math.min(slots, L - p);
      a = this.viewActivations(B, T);
      // ids [B, T]: slot p + t of sequence b; padding slots hold id 0, which attention masks out
      const ids = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const i = p + t - starts[b];
          ids[b * T + t] = i >= 0 ? prompts[b][i] : 0;
        }
        // A sequence starting after this chunk is all padding here; the kernels take starts up to
        // p + T, which masks the same slots.
        chunkStarts[b] = Math.min(starts[b], p + T);
      }
      this.layersForward(a, ids, p, chunkStarts);
    }
    this.batch = { size: B, starts, length: L, step: this.viewActivations(B, 1) };
    return this.classify(a, out);
  }

  /**
   * Continues the batch {@link prefillBatch} started: feeds `ids[b]` to sequence b at the next
   * slot and writes each sequence's next logits into `logits` (`[B, V]`, allocated when absent),
   * which it returns. All B rows run through every matrix together (one read of the weights).
   */
  async decodeBatch(ids: ArrayLike<number>, logits?: Float32Array): Promise<Float32Array> {
    this.checkUsable();
    const where = 'model.decodeBatch';
    const batch = this.batch;
    if (!batch) {
      throw new InvalidArgumentError(
        `${where}: no batch to continue; call prefillBatch first (forward and attentionWeights end a batch)`,
      );
    }
    if (ids.length !== batch.size) {
      throw new InvalidArgumentError(
        `${where}: expected one token id per sequence (${batch.size}), found ${ids.length}`,
      );
    }
    this.checkIds(ids, `${where}: ids`);
    if (batch.length >= this.maxSequenceLength) {
      throw new ContextOverflowError(
        `${where}: slot ${batch.length} exceeds the context of ${this.maxSequenceLength} tokens`,
      );
    }
    const V = this.config.vocabSize;
    const out = logits ?? new Float32Array(batch.size * V);
    if (out.length < batch.size * V) {
      throw new InvalidArgumentError(
        `${where}: logits: expected at least ${batch.size * V} values (B * V), found ${out.length}`,
      );
    }
    this.layersForward(batch.step, ids, batch.length, batch.starts);
    batch.length++;
    return this.classify(batch.step, out);
  }

  /**
   * The transformer blocks over B sequences of T rows at slots `[p, p + T)`, leaving the final
   * hidden states in `a.x`. Sequence b's first token is at slot `starts[b]` (0 when absent): rows
   * before it are padding. With `stopAtLayer`, stops once that layer's rotated queries are in
   * `a.q` and its keys and values in the cache (for {@link attentionWeights}).
   */
  private layersForward(
    a: Activations,
    ids: ArrayLike<number>,
    p: number,
    starts?: ArrayLike<number>,
    stopAtLayer = -1,
  ): void {
    const { config, args } = this;
    const { batch: B, tokens: T } = a;
    args.attentionAttrs.kvOffset = p;
    args.attentionAttrs.sequenceStarts = starts;
    args.queryRotary.positionOffset = p;
    args.queryRotary.sequenceStarts = starts;
    args.keyRotary.positionOffset = p;
    args.keyRotary.sequenceStarts = starts;

    if (this.lengthDependentRotary) this.refreshLengthDependentRotary(this.lengthDependentRotary, p, T);

    // x [B*T, D]: token embeddings, plus each row's position's row of an additive table
    this.embedding(this.tokenEmbedding, ids, a.x);
    if (this.positionTable) {
      for (let s = 0; s < B; s++) {
        const first = starts ? starts[s] : 0;
        for (let t = 0; t < T; t++) a.positionIds[s * T + t] = Math.max(0, p + t - first);
      }
      this.embedding(this.positionTable, a.positionIds, a.positions);
      this.binary('add', a.x, a.positions, a.x);
    }

    const pre = config.normPlacement === 'pre';
    for (let l = 0; l < this.layers.length; l++) {
      const layer = this.layers[l];
      // attention input [B*T, D]: norm(x) before the sub-layer (pre-norm), x itself (post-norm)
      if (pre) this.norm(a.x, layer.attentionNorm, layer.attentionNormBias, a.xb);
      const input = pre ? a.xb : a.x;
      // q [B*T, H*Dh], k, v [B*T, Hkv*Dh]
      this.matmul(input, layer.wq, layer.wqBias, a.q);
      this.matmul(input, layer.wk, layer.wkBias, a.k);
      this.matmul(input, layer.wv, layer.wvBias, a.v);
      if (this.rotaryCos && this.rotarySin) {
        this.rotate(a.queries, this.rotaryCos, this.rotarySin, args.queryRotary);
        this.rotate(a.keys, this.rotaryCos, this.rotarySin, args.keyRotary);
      }
      // cache slots [p, p+T) of each sequence ← k, v; attention [B, T, H*Dh] over its slots [0, p+T)
      this.writeRows(a.keys, p, a.keyCaches[l]);
      this.writeRows(a.values, p, a.valueCaches[l]);
      if (l === stopAtLayer) return;
      const attention = args.attention;
      attention.q = a.queries;
      attention.k = a.keyCaches[l];
      attention.v = a.valueCaches[l];
      this.backend.run('attention', attention, args.attentionAttrs, a.attention);
      // x [B*T, D] += wo · attention; post-norm: x = norm(x)
      this.matmul(a.attention, layer.wo, layer.woBias, a.xb2);
      this.binary('add', a.x, a.xb2, a.x);
      if (!pre) this.norm(a.x, layer.attentionNorm, layer.attentionNormBias, a.x);

      // feed-forward input [B*T, D], as for attention
      if (pre) this.norm(a.x, layer.ffnNorm, layer.ffnNormBias, a.xb);
      const ffnInput = pre ? a.xb : a.x;
      // hb [B*T, F] = silu(w1 · in) * (w3 · in)   (SwiGLU)   or   gelu(w1 · in + b1)   (GELU MLP)
      this.matmul(ffnInput, layer.w1, layer.w1Bias, a.hb);
      args.unary.x = a.hb;
      if (layer.w3) {
        this.matmul(ffnInput, layer.w3, undefined, a.hb2);
        this.backend.run('silu', args.unary, NO_ATTRS, a.hb);
        this.binary('mul', a.hb, a.hb2, a.hb);
      } else {
        this.backend.run('gelu', args.unary, args.gelu, a.hb);
      }
      // x [B*T, D] += w2 · hb; post-norm: x = norm(x)
      this.matmul(a.hb, layer.w2, layer.w2Bias, a.xb2);
      this.binary('add', a.x, a.xb2, a.x);
      if (!pre) this.norm(a.x, layer.ffnNorm, layer.ffnNormBias, a.x);
    }
  }

  /** out = x · wᵀ (+ bias). */
  private matmul(x: TensorHandle, w: TensorHandle, bias: TensorHandle | undefined, out: TensorHandle): void {
    const inputs = this.args.matmul;
    inputs.x = x;
    inputs.w = w;
    inputs.bias = bias;
    this.backend.run('matmul', inputs, NO_ATTRS, out);
  }

  /** out = a + b or a * b, element-wise. */
  private binary(kernel: 'add' | 'mul', a: TensorHandle, b: TensorHandle, out: TensorHandle): void {
    const inputs = this.args.binary;
    inputs.a = a;
    inputs.b = b;
    this.backend.run(kernel, inputs, NO_ATTRS, out);
  }

  /** out [rows, D] = rows `ids` of `table`. */
  private embedding(table: TensorHandle, ids: ArrayLike<number>, out: TensorHandle): void {
    this.args.embedding.table = table;
    this.args.ids.ids = ids;
    this.backend.run('embedding', this.args.embedding, this.args.ids, out);
  }

  /** Rotates `x` in place by the angles of `cos`/`sin` rows, as `attrs` say. */
  private rotate(
    x: TensorHandle,
    cos: TensorHandle,
    sin: TensorHandle,
    attrs: KernelAttrs<'applyRotary'>,
  ): void {
    const inputs = this.args.rotary;
    inputs.x = x;
    inputs.cos = cos;
    inputs.sin = sin;
    this.backend.run('applyRotary', inputs, attrs, x);
  }

  /** Rows of `src` [B, T, N] into slots [rowOffset, rowOffset + T) of `out` [B, S, N]. */
  private writeRows(src: TensorHandle, rowOffset: number, out: TensorHandle): void {
    this.args.writeRows.src = src;
    this.args.rowOffset.rowOffset = rowOffset;
    this.backend.run('writeRows', this.args.writeRows, this.args.rowOffset, out);
  }

  /**
   * Length-dependent rotary angles (dynamic NTK) for a single sequence growing to `p + T` tokens:
   * rows [p, p+T) of cos/sin get the angles of that length, and when the angles of the cached rows
   * [0, p) change too, every layer's cached keys are turned by the difference (R(new) = R(new - old)
   * R(old)), so each key carries the angles of the current length instead of those of the length
   * it was written at (keys as a cache of unrotated keys would give them). Hidden states of earlier
   * rows still come from their own step, as in any KV cache; on stories260K at 1024 tokens this
   * takes token-by-token perplexity (first 3,000 tokens of the bench's stories) from 138 to 5.57,
   * against 5.61 for the native RoPE.
   */
  private refreshLengthDependentRotary(m: LengthDependentRotary, p: number, T: number): void {
    const b = this.backend;
    const half = this.rotaryDim / 2;
    const tables = this.positionalEncoding.rotary!(0, p + T);
    const cached = p * half;
    let changed = false;
    for (let i = 0; i < cached && !changed; i++) {
      changed = tables.cos[i] !== m.cos[i] || tables.sin[i] !== m.sin[i];
    }
    if (changed) {
      // turn [p, R/2]: cos and sin of (new angle - old angle) of each cached row and pair
      for (let i = 0; i < cached; i++) {
        m.turnCos[i] = tables.cos[i] * m.cos[i] + tables.sin[i] * m.sin[i];
        m.turnSin[i] = tables.sin[i] * m.cos[i] - tables.cos[i] * m.sin[i];
      }
      b.write(m.turnCosTable, m.turnCos.subarray(0, cached), 0);
      b.write(m.turnSinTable, m.turnSin.subarray(0, cached), 0);
      for (const cache of this.caches) {
        // keys [p, Hkv*Dh]: the cached rows of sequence 0, turned in place
        this.rotate(b.view(cache.keys, [p, kvDim(this.config)]), m.turnCosTable, m.turnSinTable, m.turnAttrs);
      }
    }
    const first = changed ? 0 : cached;
    m.cos.set(tables.cos.subarray(first), first);
    m.sin.set(tables.sin.subarray(first), first);
    b.write(this.rotaryCos!, tables.cos.subarray(first), first);
    b.write(this.rotarySin!, tables.sin.subarray(first), first);
  }

  /** RMSNorm or LayerNorm of `x` [rows, D] into `out` (which may be `x`). */
  private norm(
    x: TensorHandle,
    weight: TensorHandle,
    bias: TensorHandle | undefined,
    out: TensorHandle,
  ): void {
    const inputs = this.args.norm;
    inputs.x = x;
    inputs.weight = weight;
    inputs.bias = bias;
    this.backend.run(
      this.config.norm === 'rms-norm' ? 'rmsNorm' : 'layerNorm',
      inputs,
      this.args.normAttrs,
      out,
    );
  }

  /** Final norm (when the model has one) and classifier on the last row of each sequence of `a`: logits [B, V]. */
  private async classify(a: Activations, logits: Float32Array): Promise<Float32Array> {
    // lastRows [B, D] = x[b*T + T-1] for each sequence b
    this.embedding(a.x, a.lastIds, a.lastRows);
    if (this.finalNorm) this.norm(a.lastRows, this.finalNorm, this.finalNormBias, a.lastRows);
    // logits [B, V] = classifier · lastRows
    this.matmul(a.lastRows, this.classifier, undefined, a.logits);
    return this.backend.read(a.logits, logits);
  }

  /**
   * The attention probabilities of `layer` over `ids` at positions `[0, T)`, for inspection:
   * `[H, T, T]`, row `i` of head `h` holding the weights query `i` gives keys `0..i` (zeros after).
   * It recomputes the blocks up to `layer` in the model's own cache, so the cache's record is
   * reset, any batch ends, and the next generation prefills afresh.
   */
  async attentionWeights(ids: ArrayLike<number>, layer: number): Promise<Float32Array> {
    this.checkUsable();
    const { numHeads: H, numKvHeads, headDim: Dh, numLayers } = this.config;
    if (!Number.isInteger(layer) || layer < 0 || layer >= numLayers) {
      throw new InvalidArgumentError(
        `model.attentionWeights: layer: expected an integer in [0, ${numLayers}), found ${layer}`,
      );
    }
    const T = ids.length;
    if (T === 0 || T > this.maxSequenceLength) {
      throw new InvalidArgumentError(
        `model.attentionWeights: expected 1 to ${this.maxSequenceLength} token ids, found ${T}`,
      );
    }
    this.cachedLength = 0;
    this.batch = undefined;
    const Q = queryDim(this.config);
    const KV = kvDim(this.config);
    // queries [T, H*Dh] of `layer`, rotated, gathered chunk by chunk
    const queries = new Float32Array(T * Q);
    for (let done = 0; done < T; ) {
      const rows = Math.min(this.scratch.rows, T - done);
      const a = this.viewActivations(1, rows);
      this.layersForward(a, Array.prototype.slice.call(ids, done, done + rows), done, undefined, layer);
      queries.set((await this.backend.read(a.q)).subarray(0, rows * Q), done * Q);
      done += rows;
    }
    // keys [Bc, S, Hkv*Dh] of `layer`; rows [0, T) are sequence 0's
    const keys = await this.backend.read(this.caches[layer].keys);
    const group = H / numKvHeads;
    const weights = new Float32Array(H * T * T); // [H, T, T]
    const scores = new Float64Array(T);
    for (let h = 0; h < H; h++) {
      const kvHead = Math.floor(h / group);
      for (let i = 0; i < T; i++) {
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < Dh; d++) dot += queries[i * Q + h * Dh + d] * keys[j * KV + kvHead * Dh + d];
          scores[j] = dot * this.attentionScale + (this.scoreBias ? scoreBiasAt(this.scoreBias, h, i, j) : 0);
          max = Math.max(max, scores[j]);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        for (let j = 0; j <= i; j++) weights[(h * T + i) * T + j] = scores[j] / sum;
      }
    }
    return weights;
  }

  /** Releases every backend tensor the model owns. The backend itself stays alive. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const tensor of this.owned) this.backend.dispose(tensor);
    this.owned.length = 0;
    for (const cache of this.caches) {
      this.backend.dispose(cache.keys);
      this.backend.dispose(cache.values);
    }
    this.caches.length = 0;
  }

  /** Reallocates every layer's cache for `B` sequences when it holds fewer (their contents are lost). */
  private growCaches(B: number): void {
    if (B <= this.cacheBatch) return;
    const shape = [B, this.maxSequenceLength, kvDim(this.config)];
    for (const cache of this.caches) {
      this.backend.dispose(cache.keys);
      this.backend.dispose(cache.values);
    }
    this.caches.length = 0;
    for (let l = 0; l < this.layers.length; l++) {
      this.caches.push({ keys: this.backend.allocate(shape), values: this.backend.allocate(shape) });
    }
    this.cacheBatch = B;
    this.cachedLength = 0;
    this.single = this.viewActivations(1, 1);
  }

  /** Views of the scratch buffers and caches at `batch` sequences of `tokens` rows. */
  private viewActivations(batch: number, tokens: number): Activations {
    const b = this.backend;
    const f = this.scratch;
    const view = (t: TensorHandle, shape: number[]) => b.view(t, shape);
    const { modelDim: D, hiddenDim: F, vocabSize: V } = this.config;
    const Q = queryDim(this.config);
    const KV = kvDim(this.config);
    const S = this.maxSequenceLength;
    const rows = batch * tokens;
    return {
      batch,
      tokens,
      rows,
      x: view(f.x, [rows, D]),
      xb: view(f.xb, [rows, D]),
      xb2: view(f.xb2, [rows, D]),
      q: view(f.q, [rows, Q]),
      queries: view(f.q, [batch, tokens, Q]),
      k: view(f.k, [rows, KV]),
      keys: view(f.k, [batch, tokens, KV]),
      v: view(f.v, [rows, KV]),
      values: view(f.v, [batch, tokens, KV]),
      attention: view(f.attention, [batch, tokens, Q]),
      hb: view(f.hb, [rows, F]),
      hb2: view(f.hb2, [rows, F]),
      positions: view(f.positions, [rows, D]),
      keyCaches: this.caches.map((c) => view(c.keys, [batch, S, KV])),
      valueCaches: this.caches.map((c) => view(c.values, [batch, S, KV])),
      lastRows: view(f.lastRows, [batch, D]),
      logits: view(f.logits, [batch, V]),
      positionIds: new Int32Array(rows),
      lastIds: Int32Array.from({ length: batch }, (_, s) => s * tokens + tokens - 1),
    };
  }

  /** Rejects ids that are not integers in `[0, V)`. */
  private checkIds(ids: ArrayLike<number>, where: string): void {
    const V = this.config.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new InvalidArgumentError(`${where}[${i}]: expected an integer in [0, ${V}), found ${id}`);
      }
    }
  }

  private own(tensor: TensorHandle): TensorHandle {
    this.owned.push(tensor);
    return tensor;
  }

  private checkUsable(): void {
    if (this.disposed) throw new InvalidArgumentError('model: used after dispose()');
  }
}

/**
 * Uploads a weight matrix `[N, K]`: block-quantized bytes as they are when the backend declares
 * their dtype (dequantised otherwise); f32 and f16 data quantised to `quantize` when requested,
 * declared by the backend and `K % 32 === 0`, else f16 stays f16 where declared and the rest is f32.
 */
function uploadWeightMatrix(
  backend: Backend,
  tensor: HostTensor<'f32' | StoredWeightType>,
  quantize: QuantizedWeightType | undefined,
): TensorHandle {
  const { shape, dtype } = tensor;
  const dtypes = backend.capabilities.dtypes;
  if (dtype === 'q8_0' || dtype === 'q4_0') {
    if (dtypes.includes(dtype)) return backend.upload(tensor.data as Uint8Array, shape, dtype);
    return backend.upload(decodeStored(tensor as HostTensor<QuantizedWeightType>), shape);
  }
  const quantizable =
    quantize !== undefined && dtypes.includes(quantize) && shape[1] % QUANT_BLOCK_SIZE === 0;
  if (dtype === 'f16' && !quantizable && dtypes.includes('f16')) {
    return backend.upload(tensor.data as Uint16Array, shape, 'f16');
  }
  // f16 decodes exactly, so quantising it or running it as f32 equals doing so from f32 weights.
  const data = dtype === 'f16' ? decodeStored(tensor as HostTensor<'f16'>) : (tensor.data as Float32Array);
  if (quantizable) return backend.upload(quantizeBlocks(data, quantize), shape, quantize);
  return backend.upload(data, shape);
}

/** Rejects block options this model does not implement (configs may come from JSON). */
function checkBlock(config: ModelConfig): void {
  const allowed = {
    norm: ['rms-norm', 'layer-norm'],
    normPlacement: ['pre', 'post'],
    mlp: ['swiglu', 'gelu', 'gelu-tanh'],
  } as const;
  for (const [field, values] of Object.entries(allowed)) {
    const value = config[field as keyof typeof allowed];
    if (!(values as readonly string[]).includes(value)) {
      throw new UnsupportedError(
        `model config: ${field}: expected one of ${values.join(', ')}, found ${value}`,
      );
    }
  }
}
