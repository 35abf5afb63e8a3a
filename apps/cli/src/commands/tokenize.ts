import { loadTokenizerFile } from '@rotor/tokenizer/node';
import { UsageError } from '../errors.js';

/** Options of `rotor tokenize`. */
export interface TokenizeOptions {
  tokenizer: string;
  addSpecial?: boolean;
  jsonl?: boolean;
}

/**
 * `rotor tokenize`: reads stdin and prints ids separated by single spaces; with `--jsonl`, every
 * input line is a JSON string and every output line the JSON array of its ids.
 */
export async function tokenizeCommand(options: TokenizeOptions): Promise<void> {
  const tokenizer = await loadTokenizerFile(options.tokenizer);
  const input = await readStdin();
  const encodeOptions = { addSpecialTokens: options.addSpecial ?? false };
  if (!options.jsonl) {
    process.stdout.write(`${tokenizer.encode(input, encodeOptions).join(' ')}\n`);
    return;
  }
  const lines = input.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out: string[] = [];
  lines.forEach((line, index) => {
    let text: unknown;
    try {
      text = JSON.parse(line);
    } catch {
      throw new UsageError(
        `stdin line ${index + 1}: expected a JSON string, found ${JSON.stringify(line.slice(0, 60))}`,
      );
    }
    if (typeof text !== 'string') {
      throw new UsageError(`stdin line ${index + 1}: expected a JSON string, found ${typeof text}`);
    }
    out.push(JSON.stringify(tokenizer.encode(text, encodeOptions)));
  });
  process.stdout.write(out.length > 0 ? `${out.join('\n')}\n` : '');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
