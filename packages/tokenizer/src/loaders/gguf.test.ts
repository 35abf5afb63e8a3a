import { readFileSync } from 'node:fs';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { expect, it } from 'vitest';
import { loadGgufTokenizer } from './gguf.js';
import { loadLlama2cTokenizer } from './llama2c.js';

const VOCABULARIES = ['llama-spm', 'gpt-2', 'bert-bge'];

/** The cases of a llama.cpp `.inp`/`.out` pair. */
function readVectors(name: string): { text: string; ids: number[] }[] {
  const base = fixturePath(`tokenizers/llama-cpp/ggml-vocab-${name}.gguf`);
  const inputs = readFileSync(`${base}.inp`, 'utf8').split('\n__ggml_vocab_test__\n');
  expect(inputs.pop()).toBe('');
  const outputs = readFileSync(`${base}.out`, 'utf8').split('\n');
  return inputs.map((text, index) => ({
    text,
    ids: outputs[index]
      .trim()
      .split(' ')
      .filter((part) => part !== '')
      .map(Number),
  }));
}

for (const name of VOCABULARIES) {
  const file = `tokenizers/llama-cpp/ggml-vocab-${name}.gguf`;
  describeWithFixtures(`llama.cpp vectors: ${name}`, [file, `${file}.inp`, `${file}.out`], () => {
    const tokenizer = loadGgufTokenizer(readFileSync(fixturePath(file)), { source: file });
    const vectors = readVectors(name);

    it('has the expected number of cases', () => {
      expect(vectors.length).toBeGreaterThan(30);
    });

    it('encodes every case exactly', () => {
      const failures = vectors
        .map(({ text, ids }) => ({ text, expected: ids, actual: tokenizer.encode(text) }))
        .filter(({ expected, actual }) => JSON.stringify(expected) !== JSON.stringify(actual));
      expect(failures).toEqual([]);
    });
  });
}

describeWithFixtures(
  'stories260K.gguf vocabulary',
  [
    'stories260K/stories260K.gguf',
    'stories260K/tok512.bin',
    'stories260K/reference/tok512_encode_vectors.json',
  ],
  () => {
    const gguf = loadGgufTokenizer(readFileSync(fixturePath('stories260K/stories260K.gguf')));
    const llama2c = loadLlama2cTokenizer(readFileSync(fixturePath('stories260K/tok512.bin')), {
      vocabSize: 512,
    });
    const reference = JSON.parse(
      readFileSync(fixturePath('stories260K/reference/tok512_encode_vectors.json'), 'utf8'),
    ) as { cases: { text: string; ids: number[] }[] };

    it('encodes the reference prompts as run.c and tok512.bin do', () => {
      for (const { text, ids } of reference.cases) {
        expect(gguf.encode(text, { addSpecialTokens: true }), text).toEqual(ids);
        expect(llama2c.encode(text, { addSpecialTokens: true })).toEqual(ids);
      }
    });
  },
);
