import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError, IoError, UnsupportedError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { buildGguf } from '../test-utils/gguf-file.js';
import { buildLlama2cFile, syntheticVocabulary } from '../test-utils/llama2c-file.js';
import { loadTokenizerFile } from './index.js';

const directory = mkdtempSync(join(tmpdir(), 'rotor-tokenizer-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function writeTemporary(name: string, bytes: Uint8Array | string): string {
  const path = join(directory, name);
  writeFileSync(path, bytes);
  return path;
}

/** A four-token SentencePiece vocabulary: ▁ a b ▁a, no prefix space. */
function syntheticGgufVocabulary(): Uint8Array {
  return buildGguf([
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: ['<unk>', '<s>', '</s>', 'a', 'b', '\u2581'] }],
    ['tokenizer.ggml.scores', { type: 'float32s', value: [0, 0, 0, -1, -2, -3] }],
    ['tokenizer.ggml.token_type', { type: 'int32s', value: [2, 3, 3, 1, 1, 1] }],
    ['tokenizer.ggml.add_space_prefix', { type: 'bool', value: false }],
  ]);
}

describe('loadTokenizerFile', () => {
  it('loads a llama2.c tokenizer.bin', async () => {
    const path = writeTemporary('synthetic.bin', buildLlama2cFile(syntheticVocabulary([' ', 'a'])));
    const tokenizer = await loadTokenizerFile(path);
    expect(tokenizer.vocabSize).toBe(261);
    expect(tokenizer.encode('a', { addSpecialTokens: true })).toEqual([1, 259, 260]);
    expect((await loadTokenizerFile(path, { vocabSize: 259 })).vocabSize).toBe(259);
  });

  it('throws IoError naming a missing file', async () => {
    const path = join(directory, 'missing.bin');
    await expect(loadTokenizerFile(path)).rejects.toThrow(IoError);
    await expect(loadTokenizerFile(path)).rejects.toThrow(`${path}: cannot read tokenizer file (ENOENT)`);
    await expect(loadTokenizerFile(directory)).rejects.toThrow(IoError);
  });

  it('throws FormatError naming the file and its first bytes when the format is unknown', async () => {
    const path = writeTemporary(
      'image.png',
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    );
    await expect(loadTokenizerFile(path)).rejects.toThrow(FormatError);
    await expect(loadTokenizerFile(path)).rejects.toThrow(
      `${path}: tokenizer format: expected a GGUF file, a tokenizer.json or a llama2.c tokenizer.bin`,
    );
    await expect(loadTokenizerFile(path)).rejects.toThrow(
      '12 bytes starting 89 50 4e 47 0d 0a 1a 0a (.PNG....)',
    );
    const empty = writeTemporary('empty.bin', new Uint8Array(0));
    await expect(loadTokenizerFile(empty)).rejects.toThrow('found "an empty file"');
  });

  it('reports a damaged llama2.c file with its path and offset', async () => {
    const bytes = buildLlama2cFile(syntheticVocabulary([' ', 'a']));
    const path = writeTemporary('truncated.bin', bytes.subarray(0, bytes.length - 1));
    await expect(loadTokenizerFile(path)).rejects.toThrow(
      `${path} byte ${bytes.length - 5}: entry 260 piece length`,
    );
  });

  it('loads a GGUF vocabulary and reports a damaged GGUF file with its path', async () => {
    const gguf = writeTemporary('vocab.gguf', syntheticGgufVocabulary());
    const tokenizer = await loadTokenizerFile(gguf);
    expect(tokenizer.encode('ab')).toEqual([3, 4]);
    expect(tokenizer.encode('a b')).toEqual([3, 5, 4]);
    const truncated = writeTemporary('truncated.gguf', new Uint8Array([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]));
    await expect(loadTokenizerFile(truncated)).rejects.toThrow(FormatError);
    await expect(loadTokenizerFile(truncated)).rejects.toThrow(`${truncated} byte 8: tensor count`);
  });

  it('loads tokenizer.json with the tokenizer_config.json beside it, and reports a malformed one', async () => {
    const json = {
      model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2, '<s>': 3 }, merges: ['a b'] },
      added_tokens: [{ id: 3, content: '<s>', special: true }],
    };
    const path = writeTemporary('tokenizer.json', JSON.stringify(json));
    writeTemporary('tokenizer_config.json', JSON.stringify({ bos_token: '<s>', add_bos_token: true }));
    const tokenizer = await loadTokenizerFile(path);
    expect(tokenizer.encode('aba', { addSpecialTokens: true })).toEqual([3, 2, 0]);
    expect(tokenizer.specialTokens.bos).toBe(3);
    const plain = await loadTokenizerFile(path, { tokenizerConfigPath: null });
    expect(plain.encode('aba', { addSpecialTokens: true })).toEqual([2, 0]);
    const broken = writeTemporary('broken.json', ' {"model": {}}');
    await expect(loadTokenizerFile(broken)).rejects.toThrow(UnsupportedError);
    const truncated = writeTemporary('truncated.json', '{"model": {"type": "BPE", "vocab": {');
    await expect(loadTokenizerFile(truncated)).rejects.toThrow(FormatError);
  });
});

describeWithFixtures('loadTokenizerFile on tok512.bin', ['stories260K/tok512.bin'], () => {
  it('loads it', async () => {
    const tokenizer = await loadTokenizerFile(fixturePath('stories260K/tok512.bin'), { vocabSize: 512 });
    expect(tokenizer.encode('Once upon a time', { addSpecialTokens: true })).toEqual([1, 403, 407, 261, 378]);
  });
});
