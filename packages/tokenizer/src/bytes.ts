/**
 * Byte helpers. Vocabulary pieces are kept as "binary strings" (one char, code 0..255, per
 * byte) because pieces may be partial UTF-8; such strings make cheap, exact Map keys.
 */

const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The binary string of `bytes[start, end)`. */
export function bytesToBinaryString(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let result = '';
  // Chunked so a long piece never exceeds the engine's argument-count limit.
  for (let chunk = start; chunk < end; chunk += 4096) {
    result += String.fromCharCode(...bytes.subarray(chunk, Math.min(end, chunk + 4096)));
  }
  return result;
}

/** Decodes UTF-8; invalid sequences become U+FFFD and a leading byte-order mark is kept. */
export function decodeUtf8Lossy(bytes: Uint8Array): string {
  return lossyUtf8.decode(bytes);
}

/** Decodes UTF-8, or returns undefined when `bytes` is not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A growable byte buffer. */
export class ByteSink {
  private buffer = new Uint8Array(256);
  private length = 0;

  /** Appends `bytes[start, end)`. */
  append(bytes: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.buffer.set(bytes.subarray(start, end), this.length);
    this.length += end - start;
  }

  /** The bytes written so far (a view, valid until the next append). */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}
