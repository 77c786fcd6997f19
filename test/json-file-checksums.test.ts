/**
 * The checksum member that ends every header, journal line and snapshot job
 * line (json-file/format.ts): `withCrc` appends it, `fillCrcs` fills the
 * blank ones a writer left, and `checkCrc` accepts a line only when it ends
 * in `,"crc":<n>}` exactly as written (at most 10 characters of spaces and
 * digits, no leading zero) and `n` is the CRC-32 of the bytes before it. A
 * checker that let a malformed ending through would let damage through.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { CRC_BLANK, checkCrc, fillCrcs, withCrc } from '../src/store/json-file/format.js';

const MALFORMED = /^expected a line ending in `,"crc":<n>}`$/;

/** checkCrc of `line` placed after `before` in one buffer (the line's range only). */
function check(line: string, before = ''): number | string {
  const buf = Buffer.from(before + line);
  return checkCrc(buf, Buffer.byteLength(before), buf.length);
}

const crcOf = (text: string): number => zlib.crc32(Buffer.from(text));

describe('checkCrc', () => {
  const body = '{"op":"del","id":"a"';
  const crc = crcOf(body);
  /** A body whose checksum has fewer than 10 digits. */
  const shortBody = [...'abcdefghijklmnopqrstuvwxyz'].map((id) => `{"op":"del","id":"${id}"`).find((b) => crcOf(b) < 1e9) as string;

  it('accepts the line withCrc writes (padded to 10 characters) and the same member unpadded, and says where the member starts', () => {
    const padded = withCrc(`${body}}`);
    assert.match(padded, /,"crc": *\d+}$/);
    assert.equal(padded.length, body.length + ',"crc":'.length + 10 + 1);
    assert.equal(check(padded), body.length);
    assert.equal(check(`${body},"crc":${crc}}`), body.length);
    // Inside a larger buffer, offsets are the buffer's.
    assert.equal(check(padded, 'xyz\n'), 4 + body.length);
    // Non-ASCII text: the checksum is over UTF-8 bytes.
    const wide = withCrc('{"id":"é😀"}');
    assert.equal(check(wide), Buffer.byteLength('{"id":"é😀"'));
  });

  it('refuses a changed line, naming both checksums', () => {
    const line = withCrc(`${body}}`).replace('"a"', '"b"');
    assert.equal(check(line), `expected checksum ${crc}, got ${crcOf(body.replace('"a"', '"b"'))} (the line was changed)`);
  });

  it('refuses every malformed ending', () => {
    const digits = String(crc);
    const cases: [string, string][] = [
      ['no member', `${body}}`],
      ['no digits', `${body},"crc":}`],
      ['only spaces', `${body},"crc":          }`],
      ['no closing brace', `${body},"crc":${digits}`],
      // A checksum below 10 digits, so padding is written: its first space turned into a zero.
      ['a leading zero where padding was', `${shortBody},"crc":${String(crcOf(shortBody)).padStart(10, '0')}}`],
      ['a leading zero, unpadded', `${body},"crc":0${digits}}`],
      ['eleven digits', `${body},"crc":1${digits.padStart(10, '0')}}`],
      ['more than 10 characters of padding', `${body},"crc":${digits.padStart(11, ' ')}}`],
      ['another member name', `${body},"crd":${digits}}`],
      ['a sign', `${body},"crc":-${digits}}`],
      ['a fraction', `${body},"crc":${digits}.0}`],
    ];
    for (const [what, line] of cases) assert.match(String(check(line)), MALFORMED, what);
  });

  it('reads nothing before the line: a member that starts before it does not count', () => {
    // The bytes before `start` would complete the member: the line alone is too short to hold it.
    const member = `,"crc":${crcOf('')}}`;
    assert.match(String(check(member.slice(3), member.slice(0, 3))), MALFORMED);
    assert.match(String(check('5}', '{"a":1,"crc":')), MALFORMED);
    assert.match(String(check('}')), MALFORMED);
    assert.match(String(check('')), MALFORMED);
  });
});

describe('fillCrcs', () => {
  it('fills each line that ends in a blank member (a snapshot line may end with a comma) and leaves every other line as it was', () => {
    const lines = [
      '',
      `{"godelayq":"snapshot","version":2${CRC_BLANK}`,
      `{"job":{"id":"a"}${CRC_BLANK},`,
      '{"plain":true}',
      '{"x":"          }"}',
      CRC_BLANK, // the member alone, no object before it: not a line we write
      `{"job":{"id":"é"}${CRC_BLANK},`,
      ']}',
      `{"last":"no newline"${CRC_BLANK}`,
    ];
    const buf = Buffer.from(lines.join('\n'));
    fillCrcs(buf);
    const out = buf.toString().split('\n');
    assert.equal(out.length, lines.length);
    const filled = new Set([1, 2, 6, 8]);
    for (let i = 0; i < lines.length; i++) {
      const was = lines[i] as string;
      const now = out[i] as string;
      if (!filled.has(i)) {
        assert.equal(now, was, `line ${i} left alone`);
        continue;
      }
      const line = now.endsWith(',') ? now.slice(0, -1) : now;
      assert.equal(typeof check(line), 'number', `line ${i} filled: ${now}`);
      assert.equal(Buffer.byteLength(now), Buffer.byteLength(was), 'filled in place');
      assert.equal(line, withCrc(`${line.slice(0, line.indexOf(',"crc":'))}}`), 'as withCrc writes it');
    }
  });
});
