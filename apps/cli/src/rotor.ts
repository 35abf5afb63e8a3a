/**
 * The `rotor` command.
 */
import { Command, CommanderError, InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import { generateCommand } from './commands/generate.js';
import { perplexityCommand } from './commands/perplexity.js';
import { tokenizeCommand } from './commands/tokenize.js';
import { parseNumber, reportError, UsageError } from './errors.js';

const number =
  (flag: string, constraints: { integer?: boolean; min?: number } = {}) =>
  (raw: string) => {
    try {
      return parseNumber(flag, raw, constraints);
    } catch (error) {
      throw new CommanderInvalidArgument((error as Error).message);
    }
  };

const program = new Command('rotor')
  .description('Run decoder-only transformer language models exactly and fast.')
  .exitOverride()
  .showSuggestionAfterError(false)
  .configureOutput({
    writeErr: (text) => process.stderr.write(text.startsWith('error:') ? `rotor: ${text}` : text),
  });

program
  .command('generate')
  .description(
    'Generate text from a prompt; stdout carries the prompt followed by the generated text. Several prompts run as one batch, each result after a "--- sequence i of n ---" line.',
  )
  .option(
    '--model <path>',
    'model: llama2.c .bin, .gguf, GPT-2 .onnx, or a Hugging Face folder (config.json + safetensors); default: stories260K',
  )
  .option(
    '--tokenizer <path>',
    "tokenizer file (llama2.c tokenizer.bin, GGUF); default: a GGUF model's own vocabulary, else beside the model",
  )
  .option(
    '--prompt <text>',
    'prompt text (default empty); repeat it to run several prompts as one batch',
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .option(
    '--prompts-file <path>',
    'a UTF-8 file of prompts, one per line (blank lines skipped), run as one batch',
  )
  .option(
    '--max-new-tokens <n>',
    'most tokens to generate (default: until the context is full)',
    number('--max-new-tokens', { integer: true, min: 0 }),
  )
  .option(
    '--temperature <t>',
    'sampling temperature; 0 is greedy (default 1)',
    number('--temperature', { min: 0 }),
  )
  .option(
    '--top-k <k>',
    'keep the k most likely tokens; 0 disables (default 0)',
    number('--top-k', { integer: true, min: 0 }),
  )
  .option(
    '--top-p <p>',
    'nucleus sampling threshold; 0 or 1 disables (default 0.9)',
    number('--top-p', { min: 0 }),
  )
  .option(
    '--min-p <p>',
    'keep tokens at least p times as likely as the most likely one; 0 disables (default 0)',
    number('--min-p', { min: 0 }),
  )
  .option(
    '--repetition-penalty <r>',
    'divide the logits of tokens already in the context by r; 1 disables (default 1)',
    number('--repetition-penalty', { min: 0 }),
  )
  .option(
    '--presence-penalty <v>',
    'subtract v from the logits of tokens already in the context (default 0)',
    number('--presence-penalty'),
  )
  .option(
    '--frequency-penalty <v>',
    "subtract v per earlier occurrence from a token's logit (default 0)",
    number('--frequency-penalty'),
  )
  .option(
    '--stop <text>',
    'stop before this text (repeatable); the stop text is not printed',
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .option('--context-overflow <policy>', 'error (default) | sliding: keep generating past the context')
  .option('--seed <s>', 'random seed (default: from the clock)', number('--seed', { integer: true, min: 0 }))
  .option('--backend <name>', 'reference | wasm | webgpu | auto', 'auto')
  .option(
    '--positional-encoding <json>',
    'replace the model\'s positional encoding, e.g. \'{"type":"rope","base":20000}\'',
  )
  .option('--stats <format>', 'print statistics on stderr as one line of JSON ("json")')
  .action(generateCommand);

program
  .command('perplexity')
  .description(
    'Sliding-window perplexity of a text file; stdout carries one line of JSON {tokens, scored_tokens, mean_nll, perplexity}.',
  )
  .option('--model <path>', 'model file or Hugging Face folder, as for generate; default: stories260K')
  .option('--tokenizer <path>', 'tokenizer file, as for generate')
  .requiredOption('--file <path>', 'UTF-8 text to score')
  .option(
    '--context <n>',
    "tokens per window (default: the model's context; longer sizes the KV cache to match)",
    number('--context', { integer: true, min: 2 }),
  )
  .option(
    '--stride <n>',
    'tokens between window starts, at most the context (default: half the context)',
    number('--stride', { integer: true, min: 1 }),
  )
  .option('--backend <name>', 'reference | wasm | webgpu | auto', 'auto')
  .option(
    '--positional-encoding <json>',
    'replace the model\'s positional encoding, e.g. \'{"type":"rope","scaling":{"type":"yarn","factor":4}}\'',
  )
  .action(perplexityCommand);

program
  .command('tokenize')
  .description('Encode stdin; prints the ids separated by spaces.')
  .requiredOption('--tokenizer <path>', 'tokenizer file')
  .option('--add-special', 'add the special tokens (BOS) of the format')
  .option('--jsonl', 'each input line is a JSON string; each output line the JSON array of its ids')
  .action(tokenizeCommand);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportError(
      error instanceof CommanderInvalidArgument ? new UsageError(error.message) : error,
    );
  }
}
