/**
 * GPT-2's byte-to-character table: byte-level vocabularies spell every byte as a printable
 * character (`Ġ` for the space byte 0x20, `Ċ` for 0x0A, ...), so any byte string is text.
 */

/** Character code spelling each byte. */
export const BYTE_TO_CHAR: Uint16Array = (() => {
  const table = new Uint16Array(256);
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    table[byte] = printable ? byte : next++;
  }
  return table;
})();

/** Byte spelled by each character code below 324, -1 for characters that spell none. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(324).fill(-1);
  for (let byte = 0; byte < 256; byte++) table[BYTE_TO_CHAR[byte]] = byte;
  return table;
})();

/** The bytes a byte-level token spells, or undefined when a character spells no byte. */
export function byteLevelBytes(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    const byte = code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code] : -1;
    if (byte < 0) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}
