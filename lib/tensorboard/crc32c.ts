/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78, as in iSCSI and SSE4.2's crc32
 * instruction) and the masked form that TFRecord files store (LevelDB's mask: a CRC stored
 * next to data that itself holds CRCs would otherwise be weak).
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** The CRC-32C of `data` (of `crc`'s data followed by `data`, to continue a running CRC). */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const MASK_DELTA = 0xa282ead8;

/** TFRecord's masking of a CRC: rotate right by 15 bits, add 0xa282ead8 (mod 2^32). */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

/** The masked CRC-32C of `data`, as TFRecord writes it. */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32c(data));
}
