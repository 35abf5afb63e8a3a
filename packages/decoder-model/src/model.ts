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
 * Legend: T tokens in this call, p position of the first of them, S cache capacity, D model
 * width, H / Hkv query / key-value heads, Dh head width, F feed-forward width, V vocabulary.
 *
 * Weight matrices may be block-quantized (q8_0/q4_0) on a backend that declares the dtype: kept
 * from the checkpoint (`ModelWeights.quantized`) or quantised at upload (`quantize`); otherwise they
 * are f32. The token embedding stays f32 for row lookups; a tied classifier then gets its own
 * quantized copy, since it is the largest matmul of small models.
 *
 * Config (hyper-parameters), weights (backend tensors, uploaded once) and scratch buffers
 * (activations, KV cache; allocated once) are kept apart. A decode step (T = 1) allocates no
 * tensors: it runs over views made at construction.
 */
import { dequantizeBlocks, quantizeBlocks } from '@rotor/attention-core';
import {
  type Backend,
  ContextOverflowError,
  type HostTensor,
  InvalidArgumentError,
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
  type ModelWeights,
  weightNames as names,
  optionalTensor,
  type QuantizedWeightType,
  requireMatrix,
  requireTensor,
} from './weights.js';

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
   * Quantises f32 weight matrices (attention, feed-forward, classifier) to this GGUF block type at
   * upload, when the backend declares it and the matrix's input width is a multiple of 32; other
   * matrices stay f32. Matrices the weights already hold quantized are kept as they are.
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
  keyCache: TensorHandle; // [1, S, Hkv*Dh]
  valueCache: TensorHandle; // [1, S, Hkv*Dh]
}

/** Activation buffers viewed at T rows. */
interface Activations {
  rows: number;
  x: TensorHandle; // [T, D] residual stream
  xb: TensorHandle; // [T, D] normed input of a sub-layer
  xb2: TensorHandle; // [T, D] sub-layer output
  q: TensorHandle; // [T, H*Dh]
  queries: TensorHandle; // [1, T, H*Dh] the same storage as q, batch-shaped for attention
  k: TensorHandle; // [T, Hkv*Dh]
  v: TensorHandle; // [T, Hkv*Dh]
  attention: TensorHandle; // [1, T, H*Dh]
  hb: TensorHandle; // [T, F]
  hb2: TensorHandle; // [T, F]
  positions: TensorHandle; // [T, D] additive position table
}

/** A decoder-only transformer (Llama, GPT-2, GPT-1 families) on a backend, with its KV cache. */
export class DecoderModel {
  readonly config: ModelConfig;
  readonly backend: Backend;
  readonly positionalEncoding: PositionalEncoding;
  /** KV-cache capacity in tokens. */
  readonly maxSequenceLength: number;

  private readonly tokenEmbedding: TensorHandle; // [V, D]
  private readonly finalNorm?: TensorHandle; // [D]; absent only in post-norm models (GPT-1)
  private readonly finalNormBias?: TensorHandle; // [D] (layer norm)
  private readonly classifier: TensorHandle; // [V, D]
  private readonly layers: LayerWeights[];
  private readonly rotaryCos?: TensorHandle; // [S, rotaryDim/2]
  private readonly rotarySin?: TensorHandle; // [S, rotaryDim/2]
  private readonly rotaryDim: number;
  private readonly rotaryLayout: RotaryLayout = 'interleaved';
  private readonly scoreBias?: ScoreBiasDescriptor;
  private readonly attentionScale: number;
  private readonly full: Activations; // views at the full prefill row count
  private readonly single: Activations; // views at T = 1, reused by every decode step
  private readonly lastRow: TensorHandle; // [1, D]
  private readonly logits: TensorHandle; // [1, V]
  private readonly lastIndex = new Int32Array(1);
  private readonly owned: TensorHandle[] = [];
  private disposed = false;
  /** Token ids whose keys and values the cache holds, at positions `[0, cachedLength)`. */
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
    // A tied classifier shares the f32 embedding unless it can be stored quantized (its own copy).
    const declared = (dtype: string | undefined) =>
      dtype !== undefined && (backend.capabilities.dtypes as readonly string[]).includes(dtype);
    const keptClassifier = weights.quantized?.get(names.classifier);
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
        keyCache: this.own(backend.allocate([1, capacity, KV])),
        valueCache: this.own(backend.allocate([1, capacity, KV])),
      });
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

    const rows = Math.min(capacity, options.maxPrefillRows ?? 256);
    const q = this.own(backend.allocate([rows, Q]));
    this.full = {
      rows,
      x: this.own(backend.allocate([rows, D])),
      xb: this.own(backend.allocate([rows, D])),
      xb2: this.own(backend.allocate([rows, D])),
      q,
      queries: backend.view(q, [1, rows, Q]),
      k: this.own(backend.allocate([rows, KV])),
      v: this.own(backend.allocate([rows, KV])),
      attention: this.own(backend.allocate([1, rows, Q])),
      hb: this.own(backend.allocate([rows, F])),
      hb2: this.own(backend.allocate([rows, F])),
      positions: this.own(backend.allocate([rows, D])),
    };
    this.single = this.viewRows(1);
    this.lastRow = this.own(backend.allocate([1, D]));
    this.logits = this.own(backend.allocate([1, V]));
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
   * The cache must already hold positions `[0, start)`.
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
    const V = this.config.vocabSize;
    for (let i = 0; i < count; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new InvalidArgumentError(
          `model.forward: ids[${i}]: expected an integer in [0, ${V}), found ${id}`,
        );
      }
    }
    if (start > this.cachedLength) {
      throw new InvalidArgumentError(
        `model.forward: start: expected at most ${this.cachedLength} (the tokens the cache holds), found ${start}`,
      );
    }
    // Rows from `start` on are overwritten: forget them first, so a failure leaves the record safe.
    this.cachedLength = start;
    let done = 0;
    let rows = 0;
    while (done < count) {
      rows = Math.min(this.full.rows, count - done);
      const chunk = done === 0 && rows === count ? ids : Array.prototype.slice.call(ids, done, done + rows);
      this.layersForward(rows === 1 ? this.single : this.viewRows(rows), chunk, start + done);
      done += rows;
    }
    for (let i = 0; i < count; i++) this.cachedIds[start + i] = ids[i];
    this.cachedLength = start + count;
    return this.classify(rows, logits ?? new Float32Array(V));
  }

  /** How many leading tokens of `ids` the KV cache already holds (their keys and values can be reused). */
  cachedPrefixLength(ids: ArrayLike<number>): number {
    const limit = Math.min(this.cachedLength, ids.length);
    let common = 0;
    while (common < limit && this.cachedIds[common] === ids[common]) common++;
    return common;
  }

  /**
   * The transformer blocks over one chunk of T rows at position p, leaving the final hidden states
   * in `a.x`. With `stopAtLayer`, stops once that layer's rotated queries are in `a.q` and its keys
   * and values in the cache (for {@link attentionWeights}).
   */
  private layersForward(a: Activations, ids: ArrayLike<number>, p: number, stopAtLayer = -1): void {
    const { backend: b, config } = this;
    const T = a.rows;
    const attentionAttrs = {
      numHeads: config.numHeads,
      numKvHeads: config.numKvHeads,
      headDim: config.headDim,
      kvOffset: p,
      causal: true,
      scale: this.attentionScale,
      scoreBias: this.scoreBias,
    };
    const rotaryAttrs = {
      headDim: config.headDim,
      rotaryDim: this.rotaryDim,
      layout: this.rotaryLayout,
      positionOffset: p,
    };

    // Length-dependent rotary angles (dynamic NTK) are refreshed for this window: rows [p, p+T) of cos/sin
    if (this.positionalEncoding.lengthDependent && this.rotaryCos && this.rotarySin) {
      const window = this.positionalEncoding.rotary!(p, T);
      b.write(this.rotaryCos, window.cos, (p * this.rotaryDim) / 2);
      b.write(this.rotarySin, window.sin, (p * this.rotaryDim) / 2);
    }

    // x [T, D]: token embeddings, plus absolute positions for additive encodings
    b.run('embedding', { table: this.tokenEmbedding }, { ids }, a.x);
    if (this.positionalEncoding.hooks.additive && this.positionalEncoding.additive) {
      b.write(a.positions, this.positionalEncoding.additive(p, T));
      b.run('add', { a: a.x, b: a.positions }, {}, a.x);
    }

    const pre = config.normPlacement === 'pre';
    for (let l = 0; l < this.layers.length; l++) {
      const layer = this.layers[l];
      // attention input [T, D]: norm(x) before the sub-layer (pre-norm), x itself (post-norm)
      if (pre) this.norm(a.x, layer.attentionNorm, layer.attentionNormBias, a.xb);
      const input = pre ? a.xb : a.x;
      // q [T, H*Dh], k, v [T, Hkv*Dh]
      b.run('matmul', { x: input, w: layer.wq, bias: layer.wqBias }, {}, a.q);
      b.run('matmul', { x: input, w: layer.wk, bias: layer.wkBias }, {}, a.k);
      b.run('matmul', { x: input, w: layer.wv, bias: layer.wvBias }, {}, a.v);
      if (this.rotaryCos && this.rotarySin) {
        const tables = { cos: this.rotaryCos, sin: this.rotarySin };
        b.run('applyRotary', { x: a.q, ...tables }, { ...rotaryAttrs, numHeads: config.numHeads }, a.q);
        b.run('applyRotary', { x: a.k, ...tables }, { ...rotaryAttrs, numHeads: config.numKvHeads }, a.k);
      }
      // cache rows [p, p+T) ← k, v; attention [1, T, H*Dh] over cache slots [0, p+T)
      b.run('writeRows', { src: a.k }, { rowOffset: p }, layer.keyCache);
      b.run('writeRows', { src: a.v }, { rowOffset: p }, layer.valueCache);
      if (l === stopAtLayer) return;
      b.run(
        'attention',
        { q: a.queries, k: layer.keyCache, v: layer.valueCache },
        attentionAttrs,
        a.attention,
      );
      // x [T, D] += wo · attention; post-norm: x = norm(x)
      b.run('matmul', { x: a.attention, w: layer.wo, bias: layer.woBias }, {}, a.xb2);
      b.run('add', { a: a.x, b: a.xb2 }, {}, a.x);
      if (!pre) this.norm(a.x, layer.attentionNorm, layer.attentionNormBias, a.x);

      // feed-forward input [T, D], as for attention
      if (pre) this.norm(a.x, layer.ffnNorm, layer.ffnNormBias, a.xb);
      const ffnInput = pre ? a.xb : a.x;
      // hb [T, F] = silu(w1 · in) * (w3 · in)   (SwiGLU)   or   gelu(w1 · in + b1)   (GELU MLP)
      b.run('matmul', { x: ffnInput, w: layer.w1, bias: layer.w1Bias }, {}, a.hb);
      if (layer.w3) {
        b.run('matmul', { x: ffnInput, w: layer.w3 }, {}, a.hb2);
        b.run('silu', { x: a.hb }, {}, a.hb);
        b.run('mul', { a: a.hb, b: a.hb2 }, {}, a.hb);
      } else {
        b.run('gelu', { x: a.hb }, { approximate: config.mlp === 'gelu-tanh' ? 'tanh' : 'none' }, a.hb);
      }
      // x [T, D] += w2 · hb; post-norm: x = norm(x)
      b.run('matmul', { x: a.hb, w: layer.w2, bias: layer.w2Bias }, {}, a.xb2);
      b.run('add', { a: a.x, b: a.xb2 }, {}, a.x);
      if (!pre) this.norm(a.x, layer.ffnNorm, layer.ffnNormBias, a.x);
    }
  }

  /** RMSNorm or LayerNorm of `x` [rows, D] into `out` (which may be `x`). */
  private norm(
    x: TensorHandle,
    weight: TensorHandle,
    bias: TensorHandle | undefined,
    out: TensorHandle,
  ): void {
    const epsilon = this.config.normEpsilon;
    if (this.config.norm === 'rms-norm') this.backend.run('rmsNorm', { x, weight }, { epsilon }, out);
    else this.backend.run('layerNorm', { x, weight, bias }, { epsilon }, out);
  }

  /** Final norm (when the model has one) and classifier on the last of `rows` hidden states: logits [V]. */
  private async classify(rows: number, logits: Float32Array): Promise<Float32Array> {
    const b = this.backend;
    const a = rows === 1 ? this.single : this.viewRows(rows);
    // lastRow [1, D] = x[T-1]
    this.lastIndex[0] = rows - 1;
    b.run('embedding', { table: a.x }, { ids: this.lastIndex }, this.lastRow);
    if (this.finalNorm) this.norm(this.lastRow, this.finalNorm, this.finalNormBias, this.lastRow);
    // logits [1, V] = classifier · lastRow
    b.run('matmul', { x: this.lastRow, w: this.classifier }, {}, this.logits);
    return b.read(this.logits, logits);
  }

  /**
   * The attention probabilities of `layer` over `ids` at positions `[0, T)`, for inspection:
   * `[H, T, T]`, row `i` of head `h` holding the weights query `i` gives keys `0..i` (zeros after).
   * It recomputes the blocks up to `layer` in the model's own cache, so the cache's record is
   * reset and the next generation prefills afresh.
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
    const Q = queryDim(this.config);
    const KV = kvDim(this.config);
    // queries [T, H*Dh] of `layer`, rotated, gathered chunk by chunk
    const queries = new Float32Array(T * Q);
    for (let done = 0; done < T; ) {
      const rows = Math.min(this.full.rows, T - done);
      const a = this.viewRows(rows);
      this.layersForward(a, Array.prototype.slice.call(ids, done, done + rows), done, layer);
      queries.set((await this.backend.read(a.q)).subarray(0, rows * Q), done * Q);
      done += rows;
    }
    // keys [S, Hkv*Dh] of `layer`; rows [0, T) are this sequence's
    const keys = await this.backend.read(this.layers[layer].keyCache);
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
  }

  private viewRows(rows: number): Activations {
    const b = this.backend;
    const f = this.full;
    const view = (t: TensorHandle, shape: number[]) => b.view(t, shape);
    const { modelDim: D, hiddenDim: F } = this.config;
    const Q = queryDim(this.config);
    const KV = kvDim(this.config);
    return {
      rows,
      x: view(f.x, [rows, D]),
      xb: view(f.xb, [rows, D]),
      xb2: view(f.xb2, [rows, D]),
      q: view(f.q, [rows, Q]),
      queries: view(f.q, [1, rows, Q]),
      k: view(f.k, [rows, KV]),
      v: view(f.v, [rows, KV]),
      attention: view(f.attention, [1, rows, Q]),
      hb: view(f.hb, [rows, F]),
      hb2: view(f.hb2, [rows, F]),
      positions: view(f.positions, [rows, D]),
    };
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
 * Uploads a weight matrix `[N, K]`: quantized bytes as they are when the backend declares their
 * dtype (dequantised otherwise); f32 data quantised to `quantize` when requested, declared by the
 * backend and `K % 32 === 0`, else as f32.
 */
function uploadWeightMatrix(
  backend: Backend,
  tensor: HostTensor<'f32' | QuantizedWeightType>,
  quantize: QuantizedWeightType | undefined,
): TensorHandle {
  const { shape } = tensor;
  const dtypes = backend.capabilities.dtypes;
  if (tensor.dtype !== 'f32') {
    const bytes = tensor.data as Uint8Array;
    if (dtypes.includes(tensor.dtype)) return backend.upload(bytes, shape, tensor.dtype);
    return backend.upload(dequantizeBlocks(bytes, tensor.dtype, shape[0] * shape[1]), shape);
  }
  const data = tensor.data as Float32Array;
  if (quantize !== undefined && dtypes.includes(quantize) && shape[1] % QUANT_BLOCK_SIZE === 0) {
    return backend.upload(quantizeBlocks(data, quantize), shape, quantize);
  }
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
