/**
 * The scan that tells a cold job (cold-jobs.ts) from any other snapshot
 * line: whether a record's bytes are exactly the plain form `scheduleIn` /
 * `scheduleAt` write, and where its id and name lie, with its runAt and seq
 * read as JSON.parse reads them. Bytes, not a string: a cold job's line is
 * never decoded at open. test/cold-jobs.test.ts holds it to JSON.parse.
 */
const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
export const ID_OPEN = bytes('{"id":"');
export const NAME_OPEN = bytes(',"name":"');
const PAYLOAD_OPEN = bytes(',"payload":');
const STATE_RUN_AT = bytes(',"state":"scheduled","runAt":');
const CREATED_AT = bytes(',"createdAt":');
const ATTEMPT = bytes(',"attempt":');
const PRIORITY_SEQ = bytes(',"priority":0,"seq":');
export const RELATIVE_END = bytes(',"relative":true}');

export const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const CLOSE = 0x7d;

/** What `scanCold` read of a cold record: offsets into its block (one object reused). */
export interface ColdScan {
  idStart: number;
  idEnd: number;
  nameStart: number;
  nameEnd: number;
  runAt: number;
  seq: number;
}

/** Whether `lit` is at `p` of `b` (before `end`). */
export function at(b: Uint8Array, p: number, end: number, lit: Uint8Array): boolean {
  if (p + lit.length > end) return false;
  for (let k = 0; k < lit.length; k++) if (b[p + k] !== lit[k]) return false;
  return true;
}

/**
 * End of the string body at `p` (its closing quote), or -1 at a backslash,
 * a control character (JSON.parse refuses one unescaped), a byte above
 * `max` or the end.
 */
function stringEnd(b: Uint8Array, p: number, end: number, max = 0xff): number {
  for (let q = p; q < end; q++) {
    const c = b[q] as number;
    if (c === QUOTE) return q;
    if (c === BACKSLASH || c < 0x20 || c > max) return -1;
  }
  return -1;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= DIGIT_0 && c <= DIGIT_9;

/** End of an integer as JSON writes one (an optional `-`, no leading zero, at most 15 digits: a safe integer) at `p`, or -1. */
function integerEnd(b: Uint8Array, p: number, end: number): number {
  let q = p < end && b[p] === MINUS ? p + 1 : p;
  const first = q;
  while (q < end && isDigit(b[q])) q++;
  if (q === first || q - first > 15 || (b[first] === DIGIT_0 && q - first > 1)) return -1;
  return q;
}

function integerAt(b: Uint8Array, p: number, end: number): number {
  const negative = b[p] === MINUS;
  let value = 0;
  for (let q = negative ? p + 1 : p; q < end; q++) value = value * 10 + ((b[q] as number) - DIGIT_0);
  return negative ? -value : value;
}

/** End of a JSON number at `p` (`-`, integer part, fraction, exponent, as the grammar has them), or -1. */
function numberEnd(b: Uint8Array, p: number, end: number): number {
  let q = p < end && b[p] === MINUS ? p + 1 : p;
  if (b[q] === DIGIT_0) q++;
  else if (isDigit(b[q])) while (q < end && isDigit(b[q])) q++;
  else return -1;
  if (b[q] === 0x2e) {
    if (!isDigit(b[++q])) return -1;
    while (q < end && isDigit(b[q])) q++;
  }
  if (b[q] === 0x65 || b[q] === 0x45) {
    q++;
    if (b[q] === 0x2b || b[q] === MINUS) q++;
    if (!isDigit(b[q])) return -1;
    while (q < end && isDigit(b[q])) q++;
  }
  return q <= end ? q : -1;
}

const TRUE = bytes('true');
const FALSE = bytes('false');
const NULL = bytes('null');
/** Containers open at once in a payload the scan follows (deeper ones are parsed at open, as before). */
const MAX_DEPTH = 64;
const IN_OBJECT = 1;
const IN_ARRAY = 2;
const open = new Uint8Array(MAX_DEPTH);

/** End of `"key":` at `p`, or -1. */
function keyEnd(b: Uint8Array, p: number, end: number): number {
  if (b[p] !== QUOTE) return -1;
  const q = stringEnd(b, p + 1, end);
  return q >= 0 && b[q + 1] === 0x3a ? q + 2 : -1;
}

/**
 * End of the JSON value at `p`, written compactly (no whitespace: JSON.stringify
 * writes none) with no escape, or -1 when the bytes are not one, so that
 * whatever the scan takes JSON.parse reads (a line's CRC says it is what was
 * written, not that it is JSON: a file can be edited and its CRC recomputed).
 */
function valueEnd(b: Uint8Array, p: number, end: number): number {
  let depth = 0;
  for (;;) {
    // A value at p.
    const c = b[p];
    if (c === 0x7b || c === 0x5b) {
      const empty = b[p + 1] === (c === 0x7b ? CLOSE : 0x5d);
      if (empty) p += 2;
      else {
        if (depth === MAX_DEPTH) return -1;
        open[depth++] = c === 0x7b ? IN_OBJECT : IN_ARRAY;
        p = c === 0x7b ? keyEnd(b, p + 1, end) : p + 1;
        if (p < 0) return -1;
        continue;
      }
    } else if (c === QUOTE) {
      p = stringEnd(b, p + 1, end);
      if (p < 0) return -1;
      p++;
    } else if (c === MINUS || isDigit(c)) {
      p = numberEnd(b, p, end);
      if (p < 0) return -1;
    } else if (at(b, p, end, TRUE) || at(b, p, end, NULL)) p += 4;
    else if (at(b, p, end, FALSE)) p += 5;
    else return -1;
    // After a value: close what it ends, or go on to the next one.
    for (;;) {
      if (depth === 0) return p <= end ? p : -1;
      const inObject = open[depth - 1] === IN_OBJECT;
      if (b[p] === COMMA) {
        p = inObject ? keyEnd(b, p + 1, end) : p + 1;
        if (p < 0) return -1;
        break;
      }
      if (b[p] !== (inObject ? CLOSE : 0x5d)) return -1;
      depth--;
      p++;
    }
  }
}

/**
 * Whether b[start, end) (a record's JSON, as a snapshot line holds it) is
 * a cold record; fills `out` when it is. See the module comment for the form.
 */
export function scanCold(b: Uint8Array, start: number, end: number, out: ColdScan): boolean {
  if (!at(b, start, end, ID_OPEN)) return false;
  const idStart = start + ID_OPEN.length;
  const idEnd = stringEnd(b, idStart, end, 0x7f);
  if (idEnd < 0 || !at(b, idEnd + 1, end, NAME_OPEN)) return false;
  const nameStart = idEnd + 1 + NAME_OPEN.length;
  const nameEnd = stringEnd(b, nameStart, end);
  if (nameEnd < 0 || !at(b, nameEnd + 1, end, PAYLOAD_OPEN)) return false;
  const tail = valueEnd(b, nameEnd + 1 + PAYLOAD_OPEN.length, end);
  if (tail < 0 || !at(b, tail, end, STATE_RUN_AT)) return false;
  let p = tail + STATE_RUN_AT.length;
  const runAtEnd = integerEnd(b, p, end);
  if (runAtEnd < 0 || !at(b, runAtEnd, end, CREATED_AT)) return false;
  const runAt = integerAt(b, p, runAtEnd);
  p = numberEnd(b, runAtEnd + CREATED_AT.length, end);
  if (p < 0 || !at(b, p, end, ATTEMPT)) return false;
  p = integerEnd(b, p + ATTEMPT.length, end);
  if (p < 0 || !at(b, p, end, PRIORITY_SEQ)) return false;
  p += PRIORITY_SEQ.length;
  const seqEnd = integerEnd(b, p, end);
  if (seqEnd < 0) return false;
  // The record ends here, `}` or `,"relative":true}`, and nothing follows.
  if (!(seqEnd === end - 1 && b[seqEnd] === CLOSE) && !(seqEnd + RELATIVE_END.length === end && at(b, seqEnd, end, RELATIVE_END))) return false;
  out.idStart = idStart;
  out.idEnd = idEnd;
  out.nameStart = nameStart;
  out.nameEnd = nameEnd;
  out.runAt = runAt;
  out.seq = integerAt(b, p, seqEnd);
  return true;
}
