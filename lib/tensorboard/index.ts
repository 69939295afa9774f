/**
 * TensorBoard event files written by torchrnn itself: TFRecord framing with masked CRC-32C
 * (crc32c.ts, record.ts), the Event/Summary protobuf messages (proto.ts, protobufjs), the
 * buffered async event file (event-file-writer.ts), PyTorch's summaries (summary.ts) and
 * `torch.utils.tensorboard.SummaryWriter` (summary-writer.ts). The tfjs side
 * (`tf.node.summaryFileWriter`, lib/tfjs/node-tensorboard.ts) and the fit() callback
 * (lib/train/tensorboard-callback.ts) write through the same event file writer.
 */
export { SummaryWriter } from './summary-writer';
export type { SummaryWriterOptions, HistogramValues } from './summary-writer';
