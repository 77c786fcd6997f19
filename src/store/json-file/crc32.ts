/**
 * CRC-32 (the zlib / PNG polynomial, same values as `zlib.crc32`) of a byte
 * range. Journal lines and snapshot jobs are a few hundred bytes: for those a
 * slicing-by-8 loop over the range beats zlib.crc32, which needs a Buffer
 * view per call (an allocation, on the hot path of every group commit and
 * every record read at open). Long ranges go to zlib.
 */
import zlib from 'node:zlib';

const TABLES: Int32Array[] = Array.from({ length: 8 }, () => new Int32Array(256));
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T0[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let t = 1; t < 8; t++) {
    const prev = (TABLES[t - 1] as Int32Array)[n] as number;
    (TABLES[t] as Int32Array)[n] = (prev >>> 8) ^ (T0[prev & 255] as number);
  }
}

/** Ranges at least this long are checksummed by zlib. */
const ZLIB_FROM = 4096;

/** CRC-32 of `buf[start, end)`. */
export function crc32(buf: Uint8Array, start: number, end: number): number {
  if (end - start >= ZLIB_FROM) return zlib.crc32(buf.subarray(start, end));
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ ((buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24));
    c =
      (T7[a & 255] as number) ^
      (T6[(a >>> 8) & 255] as number) ^
      (T5[(a >>> 16) & 255] as number) ^
      (T4[a >>> 24] as number) ^
      (T3[buf[i + 4] as number] as number) ^
      (T2[buf[i + 5] as number] as number) ^
      (T1[buf[i + 6] as number] as number) ^
      (T0[buf[i + 7] as number] as number);
  }
  for (; i < end; i++) c = (T0[(c ^ (buf[i] as number)) & 255] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
