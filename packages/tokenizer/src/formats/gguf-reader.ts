/**
 * GGUF reader: header, metadata and tensor directory of a GGUF v2/v3 file (the container of
 * llama.cpp). Shared by the tokenizer (vocabulary metadata) and the decoder model (weights).
 *
 * Layout (little-endian): magic "GGUF", uint32 version, uint64 tensor count, uint64 metadata
 * count, the metadata key/value pairs, the tensor infos (name, uint32 n_dims, uint64 dims,
 * uint32 GGML type, uint64 offset relative to the data section), padding to `alignment`, and
 * the tensor data.
 *
 * Hostile input: every count and length is checked against the bytes actually left before
 * anything is allocated or looped over, so a count claiming 2^60 entries fails at once with a
 * `FormatError` naming the byte offset, what was expected and what was found.
 */
import { FormatError, InvalidArgumentError, mismatch, UnsupportedError } from '@rotor/core';

/** Names of GGUF metadata value types, indexed by their type id. */
export const GGUF_VALUE_TYPES = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'bool',
  'string',
  'array',
  'uint64',
  'int64',
  'float64',
] as const;

/** A GGUF metadata value type name. */
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];

/** A numeric array as stored (copied out of the file, so aligned and little-endian decoded). */
export type GgufNumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;

/**
 * A metadata value, tagged with its GGUF type. 64-bit integers are `bigint`; numeric arrays
 * are typed arrays, bool arrays `boolean[]`, string arrays `string[]`, nested arrays
 * `GgufValue[]`. Strings are decoded as UTF-8 with invalid sequences replaced by U+FFFD.
 */
export type GgufValue =
  | {
      readonly type: 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
      readonly value: number;
    }
  | { readonly type: 'uint64' | 'int64'; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | {
      readonly type: 'array';
      readonly elementType: GgufValueType;
      readonly value: GgufNumericArray | readonly boolean[] | readonly string[] | readonly GgufValue[];
    };

/** Size and block layout of a GGML tensor type. */
export interface GgmlTypeInfo {
  /** The type id stored in the file. */
  readonly id: number;
  /** ggml's name, e.g. `F32`, `Q4_0`, `BF16`. */
  readonly name: string;
  /** Elements per block (1 for plain types; 32 or 256 for quantised ones). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly blockBytes: number;
}

/**
 * GGML tensor types by id (ggml.h `enum ggml_type`). Ids 4, 5 and 31–33, 36–38 were removed
 * from ggml and are rejected. Quantised layouts: one block of `blockSize` consecutive
 * elements of the innermost dimension takes `blockBytes` bytes (e.g. Q4_0: an f16 scale and
 * 32 4-bit values = 18 bytes; Q8_0: an f16 scale and 32 int8 = 34 bytes).
 */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  (
    [
      [0, 'F32', 1, 4],
      [1, 'F16', 1, 2],
      [2, 'Q4_0', 32, 18],
      [3, 'Q4_1', 32, 20],
      [6, 'Q5_0', 32, 22],
      [7, 'Q5_1', 32, 24],
      [8, 'Q8_0', 32, 34],
      [9, 'Q8_1', 32, 36],
      [10, 'Q2_K', 256, 84],
      [11, 'Q3_K', 256, 110],
      [12, 'Q4_K', 256, 144],
      [13, 'Q5_K', 256, 176],
      [14, 'Q6_K', 256, 210],
      [15, 'Q8_K', 256, 292],
      [16, 'IQ2_XXS', 256, 66],
      [17, 'IQ2_XS', 256, 74],
      [18, 'IQ3_XXS', 256, 98],
      [19, 'IQ1_S', 256, 50],
      [20, 'IQ4_NL', 32, 18],
      [21, 'IQ3_S', 256, 110],
      [22, 'IQ2_S', 256, 82],
      [23, 'IQ4_XS', 256, 136],
      [24, 'I8', 1, 1],
      [25, 'I16', 1, 2],
      [26, 'I32', 1, 4],
      [27, 'I64', 1, 8],
      [28, 'F64', 1, 8],
      [29, 'IQ1_M', 256, 56],
      [30, 'BF16', 1, 2],
      [34, 'TQ1_0', 256, 54],
      [35, 'TQ2_0', 256, 66],
      [39, 'MXFP4', 32, 17],
    ] as const
  ).map(([id, name, blockSize, blockBytes]) => [id, { id, name, blockSize, blockBytes }]),
);

/** One entry of the tensor directory. */
export interface GgufTensorInfo {
  /** Tensor name, e.g. `blk.0.attn_q.weight`. */
  readonly name: string;
  /** Dimensions as stored: innermost (contiguous) first, as in ggml `ne[]`. */
  readonly dims: readonly number[];
  /** GGML type id (0 F32, 1 F16, 2 Q4_0, 3 Q4_1, 8 Q8_0, 30 BF16, ...; see {@link GGML_TYPES}). */
  readonly type: number;
  /** GGML type name, e.g. `F32`. */
  readonly typeName: string;
  /** Number of elements (product of dims). */
  readonly elementCount: number;
  /** Byte offset of the data relative to the start of the data section (`dataOffset`). */
  readonly offset: number;
  /** Bytes of data: elementCount / blockSize × blockBytes. */
  readonly byteSize: number;
}

/** A parsed GGUF file. Tensor data is not copied: read it at `dataOffset + tensor.offset`. */
export interface GgufFile {
  /** Format version (2 or 3). */
  readonly version: number;
  /** Metadata in file order; keys are unique. */
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** The tensor directory in file order. */
  readonly tensors: readonly GgufTensorInfo[];
  /** Absolute byte offset of the data section (a multiple of `alignment`). */
  readonly dataOffset: number;
  /** Alignment of the data section and of every tensor offset (`general.alignment`, default 32). */
  readonly alignment: number;
  /** Name of the data in error messages. */
  readonly source: string;
}

/** Options of {@link readGguf}. */
export interface ReadGgufOptions {
  /** Name of the data in error messages (e.g. a file path). Default `"model.gguf"`. */
  source?: string;
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** Deeper nesting than any real file; bounds recursion on hostile input. */
const MAX_ARRAY_DEPTH = 8;
/** Smallest encoding of a metadata pair: empty key (8), type (4), one-byte value. */
const MIN_KV_BYTES = 13;
/** Smallest tensor info: empty name (8), n_dims (4), type (4), offset (8). */
const MIN_TENSOR_INFO_BYTES = 24;
/** Bytes per element of each scalar type id; 0 for string and array. */
const SCALAR_BYTES = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
/** Smallest encoding of one array element of each type id (string: its length; array: type + count). */
const MIN_ELEMENT_BYTES = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8, or undefined when invalid. */
function decodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Parses the header, metadata and tensor directory of a GGUF v2 or v3 file and validates the
 * tensor layout (aligned, non-overlapping offsets; data inside `bytes`).
 *
 * @throws FormatError for a malformed file (bad magic, truncation, impossible counts, unknown
 *   value or tensor types, bad alignment, duplicate keys or tensor names, tensor data past
 *   the end, overlapping or unaligned offsets), with the byte offset; UnsupportedError for
 *   GGUF v1 or a version above 3; InvalidArgumentError when `bytes` is not a Uint8Array.
 * @example
 * const gguf = readGguf(bytes, { source: 'model.gguf' });
 * gguf.metadata.get('general.architecture'); // { type: 'string', value: 'llama' }
 */
export function readGguf(bytes: Uint8Array, options: ReadGgufOptions = {}): GgufFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError(mismatch('bytes', 'readGguf', 'a Uint8Array', typeof bytes));
  }
  return new GgufParser(bytes, options.source ?? 'model.gguf', new Map()).parse();
}

/**
 * The strings at `ranges`, decoded with one TextDecoder call and cut apart by their UTF-16
 * lengths, which follow from the bytes when every string is whole, valid UTF-8; undefined
 * otherwise (decode them one by one, invalid bytes → U+FFFD).
 */
export function decodeStrings(ranges: GgufStringRanges): string[] | undefined {
  const { bytes, starts, ends } = ranges;
  const count = starts.length;
  let total = 0;
  for (let i = 0; i < count; i++) total += ends[i] - starts[i];
  const joined = new Uint8Array(total);
  const units = new Uint32Array(count + 1);
  let whole = true;
  let out = 0;
  let unitTotal = 0;
  for (let i = 0; i < count; i++) {
    const end = ends[i];
    let j = starts[i];
    let next = j;
    for (; j < end; j++) {
      const byte = bytes[j];
      joined[out++] = byte;
      if (j < next) continue;
      if (byte < 0x80) {
        next = j + 1;
        unitTotal++;
      } else {
        // A continuation byte here means the string does not start on a character.
        if (byte < 0xc0) whole = false;
        next = j + (byte < 0xe0 ? 2 : byte < 0xf0 ? 3 : 4);
        unitTotal += byte < 0xf0 ? 1 : 2;
      }
    }
    if (next !== end) whole = false;
    units[i + 1] = unitTotal;
  }
  const text = whole ? decodeStrict(joined) : undefined;
  if (text === undefined || text.length !== unitTotal) return undefined;
  const values: string[] = new Array(count);
  for (let i = 0; i < count; i++) values[i] = text.slice(units[i], units[i + 1]);
  return values;
}

/** Where the strings of a string array lie in the file: string i is `bytes[starts[i], ends[i])`. */
export interface GgufStringRanges {
  readonly bytes: Uint8Array;
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
}

/**
 * {@link readGguf} that also reports the byte ranges of the string arrays under the keys of
 * `keys`, and leaves an array empty instead of decoding it when its key maps to false: the
 * tokenizer loader resolves merges from bytes, which is much faster than creating ~10^5
 * strings. For this package's loaders only.
 */
export function readGgufStringRanges(
  bytes: Uint8Array,
  source: string,
  keys: ReadonlyMap<string, boolean>,
): { file: GgufFile; ranges: Map<string, GgufStringRanges> } {
  const parser = new GgufParser(bytes, source, keys);
  return { file: parser.parse(), ranges: parser.ranges };
}

class GgufParser {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;
  /** Where each tensor's offset field is stored, for the layout messages. */
  private readonly tensorOffsetPositions: number[] = [];

  /** Byte ranges of the top-level string arrays named in `rangeKeys`, filled while parsing. */
  readonly ranges = new Map<string, GgufStringRanges>();
  /** Key of the metadata value being parsed. */
  private key = '';

  constructor(
    bytes: Uint8Array,
    private readonly source: string,
    private readonly rangeKeys: ReadonlyMap<string, boolean>,
  ) {
    // A plain view: a Node Buffer's `subarray` is several times slower.
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  parse(): GgufFile {
    const { source } = this;
    this.need(4, 'magic "GGUF"');
    const magic = this.view.getUint32(0, true);
    if (magic !== MAGIC) {
      this.fail('magic', 0, '"GGUF" (47 47 55 46)', hexBytes(this.bytes.subarray(0, 4)));
    }
    this.offset = 4;
    const version = this.uint32('version');
    if (version === 1) {
      throw new UnsupportedError(
        `${source} byte 4: GGUF version 1 is not supported (only versions 2 and 3)`,
        {
          details: { source, offset: 4, version },
        },
      );
    }
    if (version !== 2 && version !== 3) this.fail('version', 4, '2 or 3', version);
    const tensorCount = this.count('tensor count', MIN_TENSOR_INFO_BYTES);
    const metadataCount = this.count('metadata count', MIN_KV_BYTES);

    const metadata = new Map<string, GgufValue>();
    let alignment = DEFAULT_ALIGNMENT;
    for (let index = 0; index < metadataCount; index++) {
      const keyOffset = this.offset;
      const key = this.string(`metadata ${index} key`);
      if (metadata.has(key)) this.fail(`metadata ${index} key`, keyOffset, 'a key not seen before', key);
      const typeOffset = this.offset;
      const type = this.valueType(`metadata "${key}" value type`);
      this.key = key;
      const value = this.value(type, `metadata "${key}"`, typeOffset, 0);
      if (key === 'general.alignment') alignment = this.checkAlignment(value, typeOffset);
      metadata.set(key, value);
    }

    const tensors = this.tensorInfos(tensorCount);
    const headerEnd = this.offset;
    const dataOffset = Math.ceil(headerEnd / alignment) * alignment;
    if (tensors.length > 0 && dataOffset > this.bytes.length) {
      this.fail('data section start', headerEnd, `at most ${this.bytes.length} (file length)`, dataOffset);
    }
    this.checkLayout(tensors, dataOffset, alignment, headerEnd);
    return { version, metadata, tensors, dataOffset, alignment, source };
  }

  private checkAlignment(entry: GgufValue, at: number): number {
    const value = entry.type === 'uint32' ? entry.value : -1;
    if (value <= 0 || (value & (value - 1)) !== 0) {
      this.fail(
        'metadata "general.alignment"',
        at,
        'a uint32 power of two',
        entry.type === 'uint32' ? value : `a ${entry.type}`,
      );
    }
    return value;
  }

  private tensorInfos(count: number): GgufTensorInfo[] {
    const tensors: GgufTensorInfo[] = [];
    const names = new Set<string>();
    for (let index = 0; index < count; index++) {
      const nameOffset = this.offset;
      const name = this.string(`tensor ${index} name`);
      if (names.has(name)) this.fail(`tensor ${index} name`, nameOffset, 'a name not seen before', name);
      names.add(name);
      const dimsOffset = this.offset;
      const dimCount = this.uint32(`tensor "${name}" n_dims`);
      if (dimCount > MAX_DIMS) this.fail(`tensor "${name}" n_dims`, dimsOffset, `0..${MAX_DIMS}`, dimCount);
      const dims: number[] = [];
      let elementCount = 1;
      for (let d = 0; d < dimCount; d++) {
        const at = this.offset;
        const dim = this.uint64(`tensor "${name}" dim ${d}`);
        elementCount *= dim;
        if (!Number.isSafeInteger(elementCount)) {
          this.fail(`tensor "${name}" element count`, at, `at most ${Number.MAX_SAFE_INTEGER}`, 'more');
        }
        dims.push(dim);
      }
      const typeOffset = this.offset;
      const type = this.uint32(`tensor "${name}" type`);
      const info = GGML_TYPES.get(type);
      if (info === undefined) {
        this.fail(`tensor "${name}" type`, typeOffset, 'a known GGML type id (0..39)', type);
      }
      if (dims.length > 0 && dims[0] % info.blockSize !== 0) {
        this.fail(
          `tensor "${name}" dim 0`,
          dimsOffset + 4,
          `a multiple of ${info.blockSize} (the ${info.name} block size)`,
          dims[0],
        );
      }
      const offsetAt = this.offset;
      const offset = this.uint64(`tensor "${name}" offset`);
      const byteSize = (elementCount / info.blockSize) * info.blockBytes;
      tensors.push({ name, dims, type, typeName: info.name, elementCount, offset, byteSize });
      this.tensorOffsetPositions.push(offsetAt);
    }
    return tensors;
  }

  private checkLayout(
    tensors: GgufTensorInfo[],
    dataOffset: number,
    alignment: number,
    headerEnd: number,
  ): void {
    const dataBytes = this.bytes.length - dataOffset;
    const order = tensors.map((_, index) => index).sort((a, b) => tensors[a].offset - tensors[b].offset);
    let previousEnd = 0;
    let previous = -1;
    for (const index of order) {
      const tensor = tensors[index];
      const at = this.tensorOffsetPositions[index];
      if (tensor.offset % alignment !== 0) {
        this.fail(
          `tensor "${tensor.name}" offset`,
          at,
          `a multiple of ${alignment} (alignment)`,
          tensor.offset,
        );
      }
      if (tensor.offset < previousEnd) {
        this.fail(
          `tensor "${tensor.name}" offset`,
          at,
          `at least ${previousEnd} (end of tensor "${tensors[previous].name}", no overlap)`,
          tensor.offset,
        );
      }
      const end = tensor.offset + tensor.byteSize;
      if (end > dataBytes) {
        this.fail(
          `tensor "${tensor.name}" data end`,
          at,
          `at most ${dataBytes} (bytes after the data section start ${dataOffset}; header ends at ${headerEnd})`,
          end,
        );
      }
      previousEnd = end;
      previous = index;
    }
  }

  private value(type: number, what: string, at: number, depth: number): GgufValue {
    switch (type) {
      case 0:
        return { type: 'uint8', value: this.scalarNumber(1, what, (o) => this.view.getUint8(o)) };
      case 1:
        return { type: 'int8', value: this.scalarNumber(1, what, (o) => this.view.getInt8(o)) };
      case 2:
        return { type: 'uint16', value: this.scalarNumber(2, what, (o) => this.view.getUint16(o, true)) };
      case 3:
        return { type: 'int16', value: this.scalarNumber(2, what, (o) => this.view.getInt16(o, true)) };
      case 4:
        return { type: 'uint32', value: this.scalarNumber(4, what, (o) => this.view.getUint32(o, true)) };
      case 5:
        return { type: 'int32', value: this.scalarNumber(4, what, (o) => this.view.getInt32(o, true)) };
      case 6:
        return { type: 'float32', value: this.scalarNumber(4, what, (o) => this.view.getFloat32(o, true)) };
      case 7: {
        const byte = this.scalarNumber(1, what, (o) => this.view.getUint8(o));
        if (byte > 1) this.fail(what, this.offset - 1, 'a bool (0 or 1)', byte);
        return { type: 'bool', value: byte === 1 };
      }
      case 8:
        return { type: 'string', value: this.string(what) };
      case 9:
        return this.array(what, at, depth);
      case 10:
        this.need(8, what);
        this.offset += 8;
        return { type: 'uint64', value: this.view.getBigUint64(this.offset - 8, true) };
      case 11:
        this.need(8, what);
        this.offset += 8;
        return { type: 'int64', value: this.view.getBigInt64(this.offset - 8, true) };
      default:
        this.need(8, what);
        this.offset += 8;
        return { type: 'float64', value: this.view.getFloat64(this.offset - 8, true) };
    }
  }

  private array(what: string, at: number, depth: number): GgufValue {
    if (depth >= MAX_ARRAY_DEPTH)
      this.fail(`${what} nesting depth`, at, `at most ${MAX_ARRAY_DEPTH}`, depth + 1);
    const elementTypeOffset = this.offset;
    const elementType = this.valueType(`${what} array element type`);
    const count = this.count(`${what} array length`, MIN_ELEMENT_BYTES[elementType]);
    const typeName = GGUF_VALUE_TYPES[elementType];
    const scalarBytes = SCALAR_BYTES[elementType];
    if (elementType === 7) {
      const values: boolean[] = [];
      for (let i = 0; i < count; i++) {
        const byte = this.bytes[this.offset];
        if (byte > 1) this.fail(`${what}[${i}]`, this.offset, 'a bool (0 or 1)', byte);
        values.push(byte === 1);
        this.offset++;
      }
      return { type: 'array', elementType: typeName, value: values };
    }
    if (scalarBytes > 0) {
      const start = this.offset;
      this.offset += count * scalarBytes;
      return { type: 'array', elementType: typeName, value: this.numericArray(elementType, start, count) };
    }
    if (elementType === 8) {
      const record = depth === 0 && this.rangeKeys.has(this.key);
      const decode = !record || this.rangeKeys.get(this.key) === true;
      return { type: 'array', elementType: typeName, value: this.stringArray(what, count, record, decode) };
    }
    const values: GgufValue[] = [];
    for (let i = 0; i < count; i++) values.push(this.array(`${what}[${i}]`, elementTypeOffset, depth + 1));
    return { type: 'array', elementType: typeName, value: values };
  }

  /**
   * `count` strings. Vocabularies hold ~10^5 of them, so all are decoded with one TextDecoder
   * call and cut apart by their UTF-16 lengths, which follow from the bytes when every string
   * is whole, valid UTF-8; otherwise each is decoded alone (invalid bytes → U+FFFD).
   */
  private stringArray(what: string, count: number, record: boolean, decode: boolean): string[] {
    const { bytes, view } = this;
    const starts = new Uint32Array(count);
    const ends = new Uint32Array(count);
    const first = this.offset;
    for (let i = 0; i < count; i++) {
      const at = this.offset;
      if (bytes.length - at < 8 || view.getUint32(at + 4, true) !== 0) return this.failString(what, i, at);
      const length = view.getUint32(at, true);
      if (length > bytes.length - at - 8) return this.failString(what, i, at);
      starts[i] = at + 8;
      ends[i] = at + 8 + length;
      this.offset = ends[i];
    }
    if (record) this.ranges.set(this.key, { bytes, starts, ends });
    if (!decode) return [];
    const values = decodeStrings({ bytes, starts, ends });
    if (values !== undefined) return values;
    this.offset = first;
    const checked: string[] = new Array(count);
    for (let i = 0; i < count; i++) checked[i] = this.string(`${what}[${i}]`);
    return checked;
  }

  /** Re-reads string `index` of an array at `at` on the checked path, which throws. */
  private failString(what: string, index: number, at: number): never {
    this.offset = at;
    this.string(`${what}[${index}]`);
    return this.fail(`${what}[${index}]`, at, 'a string', 'unreadable bytes');
  }

  /** Copies `count` little-endian elements at `start` into an aligned typed array. */
  private numericArray(type: number, start: number, count: number): GgufNumericArray {
    const size = SCALAR_BYTES[type];
    // A fresh array, not `slice` (a Node Buffer's `slice` is a view into a shared pool).
    const copy = new Uint8Array(count * size);
    copy.set(this.bytes.subarray(start, start + count * size));
    if (!LITTLE_ENDIAN && size > 1) {
      for (let at = 0; at < copy.length; at += size) copy.subarray(at, at + size).reverse();
    }
    const { buffer } = copy;
    switch (type) {
      case 0:
        return copy;
      case 1:
        return new Int8Array(buffer);
      case 2:
        return new Uint16Array(buffer);
      case 3:
        return new Int16Array(buffer);
      case 4:
        return new Uint32Array(buffer);
      case 5:
        return new Int32Array(buffer);
      case 6:
        return new Float32Array(buffer);
      case 10:
        return new BigUint64Array(buffer);
      case 11:
        return new BigInt64Array(buffer);
      default:
        return new Float64Array(buffer);
    }
  }

  private scalarNumber(size: number, what: string, get: (offset: number) => number): number {
    this.need(size, what);
    this.offset += size;
    return get(this.offset - size);
  }

  private valueType(what: string): number {
    const at = this.offset;
    const type = this.uint32(what);
    if (type >= GGUF_VALUE_TYPES.length) {
      this.fail(what, at, `a GGUF value type id 0..${GGUF_VALUE_TYPES.length - 1}`, type);
    }
    return type;
  }

  private string(what: string): string {
    const length = this.count(`${what} length`, 1);
    const start = this.offset;
    this.offset += length;
    return decodeString(this.bytes, start, start + length);
  }

  /**
   * A uint64 count of items each at least `minItemBytes` long, checked against the bytes left
   * before the caller allocates or loops.
   */
  private count(what: string, minItemBytes: number): number {
    const at = this.offset;
    this.need(8, what);
    const low = this.view.getUint32(at, true);
    const high = this.view.getUint32(at + 4, true);
    this.offset += 8;
    const left = this.bytes.length - this.offset;
    const limit = Math.floor(left / minItemBytes);
    if (high !== 0 || low > limit) {
      const found = high === 0 ? low : (BigInt(high) << 32n) | BigInt(low);
      this.fail(what, at, `at most ${limit} (${left} bytes left, ≥ ${minItemBytes} per item)`, found);
    }
    return low;
  }

  private uint32(what: string): number {
    this.need(4, what);
    this.offset += 4;
    return this.view.getUint32(this.offset - 4, true);
  }

  private uint64(what: string): number {
    const at = this.offset;
    this.need(8, what);
    this.offset += 8;
    const value = this.view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.fail(what, at, `at most ${Number.MAX_SAFE_INTEGER}`, value);
    }
    return Number(value);
  }

  private need(size: number, what: string): void {
    const left = this.bytes.length - this.offset;
    if (left < size) this.fail(what, this.offset, `${size} bytes (truncated file?)`, `${left} bytes left`);
  }

  private fail(what: string, offset: number, expected: string, found: unknown): never {
    throw new FormatError(mismatch(what, `${this.source} byte ${offset}`, expected, found), {
      details: { source: this.source, offset },
    });
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** UTF-8 text of `bytes[start, end)`; ASCII takes a fast path (most vocabulary entries). */
function decodeString(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode(...bytes.subarray(start, end));
  }
  return utf8.decode(bytes.subarray(start, end));
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}
