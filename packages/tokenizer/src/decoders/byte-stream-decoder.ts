/**
 * Streaming decoder over token byte pieces: UTF-8 sequences split across tokens are held
 * back until complete, so no broken character is ever emitted.
 */
import type { StreamDecoder } from '@rotor/core';

/**
 * Bytes that token `id` contributes to the output, given the id pushed before it (-1 for
 * none). Throws for an invalid id. The result is only read before the next call.
 */
export type PieceBytes = (id: number, previousId: number) => Uint8Array;

/**
 * A {@link StreamDecoder} over `pieceBytes`. Each push costs O(bytes of that token): the
 * incremental work is done by a streaming `TextDecoder`, which keeps at most one incomplete
 * character.
 */
export function createByteStreamDecoder(pieceBytes: PieceBytes): StreamDecoder {
  // ignoreBOM: a U+FEFF the model emits is text, not a marker to strip.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let previousId = -1;
  return {
    push(id: number): string {
      const bytes = pieceBytes(id, previousId);
      previousId = id;
      return decoder.decode(bytes, { stream: true });
    },
    flush(): string {
      previousId = -1;
      return decoder.decode();
    },
  };
}
