/**
 * The subset of ONNX's `onnx.proto` (proto2, package `onnx`) the initializer loader reads and the
 * exporter writes, as a protobufjs JSON descriptor. Field numbers are those of onnx/onnx
 * `onnx/onnx.proto`; fields not listed are skipped by the decoder, so any valid model decodes.
 */
const field = (type: string, id: number) => ({ type, id });
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });

/** `protobuf.Root.fromJSON` input. */
export const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: field('int64', 1),
            producerName: field('string', 2),
            graph: field('GraphProto', 7),
            opsetImport: repeated('OperatorSetIdProto', 8),
          },
        },
        OperatorSetIdProto: { fields: { domain: field('string', 1), version: field('int64', 2) } },
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: field('string', 2),
            initializer: repeated('TensorProto', 5),
            input: repeated('ValueInfoProto', 11),
            output: repeated('ValueInfoProto', 12),
          },
        },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: field('string', 3),
            opType: field('string', 4),
            domain: field('string', 7),
            attribute: repeated('AttributeProto', 5),
          },
        },
        AttributeProto: {
          fields: {
            name: field('string', 1),
            f: field('float', 2),
            i: field('int64', 3),
            s: field('bytes', 4),
            t: field('TensorProto', 5),
            ints: repeated('int64', 8),
            type: field('int32', 20),
          },
        },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            dataType: field('int32', 2),
            floatData: repeated('float', 4),
            int32Data: repeated('int32', 5),
            int64Data: repeated('int64', 7),
            name: field('string', 8),
            rawData: field('bytes', 9),
            dataLocation: field('int32', 14),
          },
        },
        ValueInfoProto: { fields: { name: field('string', 1), type: field('TypeProto', 2) } },
        TypeProto: {
          fields: { tensorType: field('TypeProtoTensor', 1) },
        },
        TypeProtoTensor: {
          fields: { elemType: field('int32', 1), shape: field('TensorShapeProto', 2) },
        },
        TensorShapeProto: { fields: { dim: repeated('Dimension', 1) } },
        Dimension: { fields: { dimValue: field('int64', 1), dimParam: field('string', 2) } },
      },
    },
  },
};

/** `TensorProto.DataType` values the loader converts to f32. */
export const ONNX_DATA_TYPES = { FLOAT: 1, FLOAT16: 10, BFLOAT16: 16 } as const;

/** Decoded shapes of the messages above (int64 fields arrive as numbers or Long objects). */
export type OnnxInt64 = number | { toNumber(): number };

/** A decoded `TensorProto`. */
export interface OnnxTensor {
  dims: OnnxInt64[];
  dataType: number;
  floatData: number[];
  int32Data: number[];
  name: string;
  rawData?: Uint8Array;
  dataLocation: number;
}

/** A decoded `ValueInfoProto`. */
export interface OnnxValueInfo {
  name: string;
  type?: {
    tensorType?: { elemType: number; shape?: { dim: { dimValue?: OnnxInt64; dimParam?: string }[] } };
  };
}

/** A decoded `ModelProto`. */
export interface OnnxModel {
  irVersion: OnnxInt64;
  producerName: string;
  graph?: {
    node: { input: string[]; output: string[]; name: string; opType: string; domain: string }[];
    name: string;
    initializer: OnnxTensor[];
    input: OnnxValueInfo[];
    output: OnnxValueInfo[];
  };
}
