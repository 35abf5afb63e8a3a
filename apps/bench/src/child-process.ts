/**
 * Scripts the bench runs in fresh Node processes: another thread count for onnxruntime-web (it reads
 * it once per process), or a probe whose buffer must not count in this process's memory.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Runs `dist/<script>` with `request` as its one JSON argument and resolves with the JSON it
 * prints; rejects with the child's own error line when it exits non-zero.
 */
export function runChild<Result>(script: string, request: unknown): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, script), JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as Result);
      else {
        // The thrown error's own line, not the stack or the source excerpt around it.
        const lines = err.trim().split('\n');
        const reason = lines.find((line) => /^\w*Error\b/.test(line)) ?? lines.at(-1) ?? '';
        reject(new Error(`${script} exited with ${code}: ${reason}`));
      }
    });
  });
}
