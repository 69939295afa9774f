/**
 * The protobuf messages of TensorBoard event files, encoded with protobufjs' reflection API
 * from an inline schema that holds only the fields torchrnn writes. Names are protobufjs'
 * camelCase; field numbers and types are those of TensorFlow's protos
 * (tensorflow/core/util/event.proto; tensorflow/core/framework/summary.proto, tensor.proto,
 * tensor_shape.proto, types.proto; tsl's histogram.proto), all proto3.
 *
 * The objects handed to `encodeEvent` leave default values (0, '', empty) out, as proto3
 * serializers do, so the bytes are those TensorFlow and PyTorch write for the same event.
 */
import type * as Protobuf from 'protobufjs/light';

/** TensorFlow's DataType codes used here (types.proto). */
export const DT_FLOAT = 1;
export const DT_DOUBLE = 2;
export const DT_STRING = 7;

export interface TensorShapeInit { dim?: { size?: number }[] }
export interface TensorInit {
  dtype: number;
  tensorShape: TensorShapeInit;
  tensorContent?: Uint8Array;
  floatVal?: number[];
  doubleVal?: number[];
  stringVal?: Uint8Array[];
}
export interface HistogramInit {
  min: number; max: number; num: number; sum: number; sumSquares: number;
  bucketLimit: number[]; bucket: number[];
}
export interface SummaryMetadataInit {
  pluginData?: { pluginName: string; content?: Uint8Array };
  displayName?: string;
  summaryDescription?: string;
}
export interface ValueInit {
  tag: string;
  metadata?: SummaryMetadataInit;
  simpleValue?: number;
  histo?: HistogramInit;
  tensor?: TensorInit;
}
export interface EventInit {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  summary?: { value: ValueInit[] };
}

const PACKED = { packed: true };

/** The schema, in protobufjs' JSON form (package tensorboard, as in TensorBoard's copies of the protos). */
const SCHEMA = {
  nested: {
    tensorboard: {
      nested: {
        Event: {
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: {
              fields: {
                tag: { type: 'string', id: 1 },
                simpleValue: { type: 'float', id: 2 },
                histo: { type: 'HistogramProto', id: 5 },
                tensor: { type: 'TensorProto', id: 8 },
                metadata: { type: 'SummaryMetadata', id: 9 },
              },
            },
          },
        },
        SummaryMetadata: {
          fields: {
            pluginData: { type: 'PluginData', id: 1 },
            displayName: { type: 'string', id: 2 },
            summaryDescription: { type: 'string', id: 3 },
          },
          nested: {
            PluginData: {
              fields: {
                pluginName: { type: 'string', id: 1 },
                content: { type: 'bytes', id: 2 },
              },
            },
          },
        },
        HistogramProto: {
          fields: {
            min: { type: 'double', id: 1 },
            max: { type: 'double', id: 2 },
            num: { type: 'double', id: 3 },
            sum: { type: 'double', id: 4 },
            sumSquares: { type: 'double', id: 5 },
            bucketLimit: { rule: 'repeated', type: 'double', id: 6, options: PACKED },
            bucket: { rule: 'repeated', type: 'double', id: 7, options: PACKED },
          },
        },
        TensorProto: {
          fields: {
            dtype: { type: 'int32', id: 1 },  // the DataType enum, as its number
            tensorShape: { type: 'TensorShapeProto', id: 2 },
            tensorContent: { type: 'bytes', id: 4 },
            floatVal: { rule: 'repeated', type: 'float', id: 5, options: PACKED },
            doubleVal: { rule: 'repeated', type: 'double', id: 6, options: PACKED },
            stringVal: { rule: 'repeated', type: 'bytes', id: 8 },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dim', id: 2 } },
          nested: { Dim: { fields: { size: { type: 'int64', id: 1 } } } },
        },
      },
    },
  },
};

let eventType: Protobuf.Type | null = null;

/** protobufjs is loaded on the first event written, not when torchrnn is imported. */
function event(): Protobuf.Type {
  if (eventType === null) {
    const protobuf = require('protobufjs/light') as typeof Protobuf;
    eventType = protobuf.Root.fromJSON(SCHEMA).lookupType('tensorboard.Event');
  }
  return eventType;
}

/** The serialized Event message. */
export function encodeEvent(e: EventInit): Uint8Array {
  return event().encode(e).finish();
}
