import { readFile } from 'node:fs/promises';
import { isRotorError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { describe, expect, it } from 'vitest';
import { loadLanguageModelFile, readModelWeightsFile } from '../node/index.js';
import { parseGgufWeights } from './gguf.js';

type Value = { type: 'u32' | 'f32' | 'string'; value: number | string };

/** A minimal GGUF v3 writer: metadata scalars and tensors given as raw bytes of a GGML type. */
function writeGguf(
  metadata: Record<string, Value>,
  tensors: { name: string; dims: number[]; type: number; data: Uint8Array }[],
): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  const u64 = (v: number) => {
    u32(v % 2 ** 32);
    u32(Math.floor(v / 2 ** 32));
  };
  const string = (s: string) => {
    const b = new TextEncoder().encode(s);
    u64(b.length);
    parts.push(...b);
  };
  u32(0x46554747);
  u32(3);
  u64(tensors.length);
  u64(Object.keys(metadata).length);
  for (const [key, { type, value }] of Object.entries(metadata)) {
    string(key);
    if (type === 'u32') {
      u32(4);
      u32(value as number);
    } else if (type === 'f32') {
      u32(6);
      parts.push(...new Uint8Array(Float32Array.of(value as number).buffer));
    } else {
      u32(8);
      string(value as string);
    }
  }
  let offset = 0;
  for (const t of tensors) {
    string(t.name);
    u32(t.dims.length);
    for (const d of t.dims) u64(d);
    u32(t.type);
    u64(offset);
    offset += Math.ceil(t.data.length / 32) * 32;
  }
  while (parts.length % 32 !== 0) parts.push(0);
  const out = new Uint8Array(parts.length + offset);
  out.set(parts);
  let at = parts.length;
  for (const t of tensors) {
    out.set(t.data, at);
    at += Math.ceil(t.data.length / 32) * 32;
  }
  return out;
}

const F32 = 0;
const Q4_0 = 2;
const Q4_1 = 3;
const Q8_0 = 8;
const Q5_0 = 6;

/** A tiny llama model (D 32, F 32, one layer, 2 heads, V 32) whose tensors all use `type`, bytes from `data`. */
function tinyModel(
  typeOf: (name: string) => number,
  data: (name: string, count: number, type: number) => Uint8Array,
) {
  const D = 32;
  const shapes: [string, number[]][] = [
    ['token_embd.weight', [D, 32]],
    ['blk.0.attn_norm.weight', [D]],
    ['blk.0.attn_q.weight', [D, D]],
    ['blk.0.attn_k.weight', [D, D]],
    ['blk.0.attn_v.weight', [D, D]],
    ['blk.0.attn_output.weight', [D, D]],
    ['blk.0.ffn_norm.weight', [D]],
    ['blk.0.ffn_gate.weight', [D, 32]],
    ['blk.0.ffn_down.weight', [32, D]],
    ['blk.0.ffn_up.weight', [D, 32]],
    ['output_norm.weight', [D]],
  ];
  return writeGguf(
    {
      'general.architecture': { type: 'string', value: 'llama' },
      'llama.context_length': { type: 'u32', value: 64 },
      'llama.embedding_length': { type: 'u32', value: D },
      'llama.block_count': { type: 'u32', value: 1 },
      'llama.feed_forward_length': { type: 'u32', value: 32 },
      'llama.attention.head_count': { type: 'u32', value: 2 },
      'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: 1e-6 },
      'llama.rope.freq_base': { type: 'f32', value: 500000 },
    },
    shapes.map(([name, dims]) => {
      const type = dims.length === 1 ? F32 : typeOf(name);
      return {
        name,
        dims,
        type,
        data: data(
          name,
          dims.reduce((a, b) => a * b, 1),
          type,
        ),
      };
    }),
  );
}

/** Blocks whose dequantised value at index i is known: scale 0.5 (f16 0x3800), min -1 (0xbc00). */
function blocks(type: number, count: number): { bytes: Uint8Array; expected: Float32Array } {
  const expected = new Float32Array(count);
  const size = type === Q8_0 ? 34 : type === Q4_0 ? 18 : type === Q4_1 ? 20 : 4;
  if (type === F32) {
    for (let i = 0; i < count; i++) expected[i] = (i % 7) - 3;
    return { bytes: new Uint8Array(expected.buffer.slice(0)), expected };
  }
  const bytes = new Uint8Array((count / 32) * size);
  for (let b = 0; b < count / 32; b++) {
    const block = bytes.subarray(b * size, (b + 1) * size);
    block.set([0x00, 0x38]);
    if (type === Q4_1) block.set([0x00, 0xbc], 2);
    const qs = block.subarray(type === Q4_1 ? 4 : 2);
    for (let i = 0; i < 32; i++) {
      const q = (b * 5 + i * 3) % 16;
      const at = b * 32 + i;
      if (type === Q8_0) {
        const signed = q * 9 - 70;
        qs[i] = signed & 0xff;
        expected[at] = 0.5 * signed;
      } else {
        qs[i % 16] |= i < 16 ? q : q << 4;
        expected[at] = type === Q4_0 ? 0.5 * (q - 8) : 0.5 * q - 1;
      }
    }
  }
  return { bytes, expected };
}

function expectRotorError(run: () => unknown, pattern: RegExp) {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(isRotorError(caught), `expected a RotorError, got ${String(caught)}`).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('GGUF weights', () => {
  it.each([
    ['F32', F32],
    ['Q8_0', Q8_0],
    ['Q4_0', Q4_0],
    ['Q4_1', Q4_1],
  ])('dequantises %s blocks to the values ggml defines', (_, type) => {
    const expected = new Map<string, Float32Array>();
    const bytes = tinyModel(
      () => type,
      (name, count, t) => {
        const made = blocks(t, count);
        expected.set(name, made.expected);
        return made.bytes;
      },
    );
    const weights = parseGgufWeights(bytes);
    expect(weights.tensors.get('layers.0.wq')?.data).toEqual(expected.get('blk.0.attn_q.weight'));
    expect(weights.tensors.get('layers.0.w2')?.shape).toEqual([32, 32]);
    expect(weights.tensors.get('token_embedding')?.data).toEqual(expected.get('token_embd.weight'));
    expect(weights.config).toMatchObject({
      numHeads: 2,
      numKvHeads: 2,
      maxSequenceLength: 64,
      normEpsilon: Math.fround(1e-6),
      tiedEmbeddings: true,
      positionalEncoding: { type: 'rope', layout: 'interleaved', base: 500000 },
    });
  });

  it('rejects an unsupported tensor type naming the tensor and the type', () => {
    const bytes = tinyModel(
      (name) => (name === 'blk.0.ffn_up.weight' ? Q5_0 : F32),
      (_, count, type) => new Uint8Array(type === Q5_0 ? (count / 32) * 22 : count * 4),
    );
    expectRotorError(
      () => parseGgufWeights(bytes, { source: 'q.gguf' }),
      /q\.gguf: tensor "blk\.0\.ffn_up\.weight": type Q5_0 is not supported \(supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1\)/,
    );
  });

  it('rejects other architectures, missing keys and tensors, and corrupt files with typed errors', () => {
    const good = tinyModel(
      () => F32,
      (_, count) => new Uint8Array(count * 4),
    );
    expectRotorError(() => parseGgufWeights(good.subarray(0, 100)), /./);
    const gpt2 = writeGguf({ 'general.architecture': { type: 'string', value: 'gpt2' } }, []);
    expectRotorError(() => parseGgufWeights(gpt2), /general\.architecture: expected "llama", found "gpt2"/);
    const noTensors = writeGguf({ 'general.architecture': { type: 'string', value: 'llama' } }, []);
    expectRotorError(() => parseGgufWeights(noTensors), /tensor "token_embd\.weight" is missing/);
  });
});

const REFERENCE_PROMPTS = ['Once upon a time', '', 'Tom had a red ball', 'One day, a little dog'];
const OTHER_PROMPTS = ['The cat sat', 'Lily and Ben went to the park. They', 'Why is the sky blue?'];

describeWithFixtures(
  'stories260K.gguf',
  ['stories260K/stories260K.gguf', 'stories260K/stories260K.bin', 'stories260K/tok512.bin'],
  () => {
    it('holds tensors bit-identical to the .bin and the metadata config', async () => {
      const gguf = await readModelWeightsFile(fixturePath('stories260K/stories260K.gguf'));
      const bin = await readModelWeightsFile(fixturePath('stories260K/stories260K.bin'));
      // output.weight repeats token_embd.weight byte for byte: kept once, as a tied classifier
      expect(gguf.config).toEqual({ ...bin.config, maxSequenceLength: 2048, normEpsilon: Math.fround(1e-5) });
      expect([...gguf.tensors.keys()].sort()).toEqual([...bin.tensors.keys()].sort());
      for (const [name, tensor] of bin.tensors)
        expect(gguf.tensors.get(name)?.data, name).toEqual(tensor.data);
    });

    it.each(['reference', 'wasm'])(
      'with its embedded vocabulary gives the .bin greedy text for every prompt on the %s backend',
      async (backend) => {
        const fromGguf = await loadLanguageModelFile(fixturePath('stories260K/stories260K.gguf'), {
          backend,
        });
        const fromBin = await loadLanguageModelFile(fixturePath('stories260K/stories260K.bin'), {
          tokenizerPath: fixturePath('stories260K/tok512.bin'),
          backend,
        });
        expect(fromGguf.tokenizerPath).toMatch(/stories260K\.gguf$/);
        for (const prompt of [...REFERENCE_PROMPTS, ...OTHER_PROMPTS]) {
          const options = { temperature: 0, maxNewTokens: 200 };
          const expected = await fromBin.generator.generateText(prompt, options);
          expect(await fromGguf.generator.generateText(prompt, options), JSON.stringify(prompt)).toBe(
            expected,
          );
        }
        fromGguf.dispose();
        fromBin.dispose();
      },
      120_000,
    );

    it('matches the llama2.c reference output for "Once upon a time"', async () => {
      const expected = (
        await readFile(fixturePath('stories260K/reference/expected_once_upon_a_time_n200.txt'), 'utf8')
      ).replace(/\n$/, '');
      const model = await loadLanguageModelFile(fixturePath('stories260K/stories260K.gguf'), {
        backend: 'reference',
      });
      const text = `Once upon a time${await model.generator.generateText('Once upon a time', { temperature: 0, maxNewTokens: 200 })}`;
      model.dispose();
      expect(text.startsWith(expected), text).toBe(true);
    });
  },
);
