/**
 * TFRecord framing, the container of TensorBoard event files (TensorFlow's
 * core/lib/io/record_writer.cc): each record is
 *
 *   uint64 length          little-endian
 *   uint32 masked CRC-32C of the 8 length bytes
 *   byte   data[length]
 *   uint32 masked CRC-32C of the data
 */
import { maskedCrc32c } from './crc32c';

/** The bytes of one record holding `data`. */
export function tfRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.length + 16);
  // lengths above 2^32 never occur here (a record is one serialized protobuf message, < 2 GiB)
  out.writeUInt32LE(data.length, 0);
  out.writeUInt32LE(0, 4);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}
