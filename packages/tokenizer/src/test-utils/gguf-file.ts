/**
 * Builds small GGUF files for tests.
 */

/** A metadata value to write: its GGUF type id and a writer. */
export type TestValue =
  | { type: 'uint32'; value: number }
  | { type: 'int32'; value: number }
  | { type: 'float32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'uint64'; value: bigint }
  | { type: 'strings'; value: string[] }
  | { type: 'int32s'; value: number[] }
  | { type: 'float32s'; value: number[] };

/** A tensor to write (data is zero-filled). */
export interface TestTensor {
  name: string;
  dims: number[];
  type: number;
  offset: number;
  byteSize: number;
}

/** Little-endian byte writer. */
export class ByteWriter {
  private readonly parts: number[] = [];

  u8(value: number): this {
    this.parts.push(value & 0xff);
    return this;
  }

  u32(value: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((value >>> (8 * i)) & 0xff);
    return this;
  }

  u64(value: number | bigint): this {
    const big = BigInt(value);
    for (let i = 0n; i < 8n; i++) this.parts.push(Number((big >> (8n * i)) & 0xffn));
    return this;
  }

  f32(value: number): this {
    const bytes = new Uint8Array(Float32Array.of(value).buffer);
    for (const byte of bytes) this.parts.push(byte);
    return this;
  }

  string(value: string): this {
    const bytes = new TextEncoder().encode(value);
    this.u64(bytes.length);
    for (const byte of bytes) this.parts.push(byte);
    return this;
  }

  get length(): number {
    return this.parts.length;
  }

  pad(alignment: number): this {
    while (this.parts.length % alignment !== 0) this.parts.push(0);
    return this;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const TYPE_IDS = { uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, uint64: 10 } as const;

/** Writes one metadata value (type id then payload). */
export function writeValue(writer: ByteWriter, value: TestValue): void {
  switch (value.type) {
    case 'strings':
      writer.u32(9).u32(8).u64(value.value.length);
      for (const item of value.value) writer.string(item);
      return;
    case 'int32s':
      writer.u32(9).u32(5).u64(value.value.length);
      for (const item of value.value) writer.u32(item);
      return;
    case 'float32s':
      writer.u32(9).u32(6).u64(value.value.length);
      for (const item of value.value) writer.f32(item);
      return;
    default:
      writer.u32(TYPE_IDS[value.type]);
  }
  if (value.type === 'uint32' || value.type === 'int32') writer.u32(value.value);
  else if (value.type === 'float32') writer.f32(value.value);
  else if (value.type === 'bool') writer.u8(value.value ? 1 : 0);
  else if (value.type === 'string') writer.string(value.value);
  else if (value.type === 'uint64') writer.u64(value.value);
}

/** A complete GGUF v3 (or `version`) file. */
export function buildGguf(
  metadata: [string, TestValue][],
  tensors: TestTensor[] = [],
  options: { version?: number; alignment?: number } = {},
): Uint8Array {
  const writer = new ByteWriter();
  writer
    .u8(0x47)
    .u8(0x47)
    .u8(0x55)
    .u8(0x46)
    .u32(options.version ?? 3);
  writer.u64(tensors.length).u64(metadata.length);
  for (const [key, value] of metadata) {
    writer.string(key);
    writeValue(writer, value);
  }
  for (const tensor of tensors) {
    writer.string(tensor.name).u32(tensor.dims.length);
    for (const dim of tensor.dims) writer.u64(dim);
    writer.u32(tensor.type).u64(tensor.offset);
  }
  writer.pad(options.alignment ?? 32);
  const dataStart = writer.length;
  const dataEnd = Math.max(0, ...tensors.map((tensor) => tensor.offset + tensor.byteSize));
  while (writer.length < dataStart + dataEnd) writer.u8(0);
  return writer.bytes();
}
