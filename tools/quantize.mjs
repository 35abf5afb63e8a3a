#!/usr/bin/env node
/**
 * Writes a GGUF Q8_0 or Q4_0 (or F32) version of a Llama-family model, as llama.cpp's
 * `llama-quantize` would: weight matrices whose input width is a multiple of 32 quantised with
 * llama.cpp's reference quantiser, norms (and matrices of other widths) kept F32. A GGUF input's
 * other metadata (its `tokenizer.*` vocabulary, chat template) is copied, so the output runs without
 * `--tokenizer`; for llama.c `.bin` or safetensors inputs pass the tokenizer when running it.
 *
 * Usage: node tools/quantize.mjs <model (.bin | .gguf | Hugging Face folder)> <out.gguf> [--type q8_0|q4_0|f32]
 * Needs `pnpm build` (it imports @rotor/decoder-model's dist).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { serializeGguf } from '../packages/decoder-model/dist/index.js';
import { readModelWeightsFile } from '../packages/decoder-model/dist/node/index.js';
import { readGguf } from '../packages/tokenizer/dist/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { type: { type: 'string', default: 'q8_0' } },
});
const [input, output] = positionals;
const weightType = values.type;
if (!input || !output || !['q8_0', 'q4_0', 'f32'].includes(weightType)) {
  console.error('usage: node tools/quantize.mjs <model> <out.gguf> [--type q8_0|q4_0|f32]');
  process.exit(2);
}

try {
  const isGguf = input.endsWith('.gguf');
  // matrices already in the target type are copied, not requantised
  const weights = await readModelWeightsFile(input, { keepQuantized: true });
  const metadata = isGguf ? readGguf(readFileSync(input)).metadata : undefined;
  const bytes = serializeGguf(weights, {
    weightType,
    metadata,
    name: basename(input).replace(/\.[^.]*$/, ''),
  });
  writeFileSync(output, bytes);
  console.log(`${output}: ${weightType}, ${bytes.length} bytes`);
} catch (error) {
  console.error(`quantize: ${error.message}`);
  process.exit(1);
}
