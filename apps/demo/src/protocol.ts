/** Messages between the page and the model worker. */
import type { PositionalEncodingSpec } from '@rotor/core';

/** Sampling and length controls sent with a generate request. */
export interface GenerateSettings {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  seed: number;
}

/** A file the user opened. */
export interface OpenedFile {
  name: string;
  bytes: ArrayBuffer;
}

/** Where the model comes from: the default model, or files the user opened. */
export type ModelFiles = { kind: 'default' } | { kind: 'files'; files: OpenedFile[] };

export type ToWorker =
  | { type: 'load'; files: ModelFiles; backend: string; positionalEncoding?: PositionalEncodingSpec }
  | { type: 'generate'; prompt: string; settings: GenerateSettings }
  | { type: 'stop' }
  /** Attention probabilities of one layer over the last generated sequence. */
  | { type: 'attention'; layer: number };

/** One token of the prompt or of the output, with its id and text (for colouring). */
export interface TokenPiece {
  id: number;
  text: string;
}

export type FromWorker =
  | { type: 'progress'; loaded: number; total: number; what: string }
  | {
      type: 'loaded';
      backend: string;
      fallbacks: { name: string; reason: string }[];
      description: string;
      config: {
        modelDim: number;
        numHeads: number;
        headDim: number;
        numLayers: number;
        vocabSize: number;
        maxSequenceLength: number;
      };
      positionalEncoding: PositionalEncodingSpec;
    }
  | { type: 'prompt-tokens'; tokens: TokenPiece[] }
  | { type: 'token'; piece: TokenPiece }
  | { type: 'done'; stopReason: string; tokensPerSecond: number; generatedTokens: number }
  | { type: 'attention'; layer: number; heads: number; length: number; weights: Float32Array }
  | { type: 'error'; message: string };
