/**
 * The scan that tells a cold job (cold-jobs.ts) from any other snapshot
 * line: whether a record's bytes are exactly the plain form `scheduleIn` /
 * `scheduleAt` write, and where its id and name lie, with its runAt and seq
 * read as JSON.parse reads them. Bytes, not a string: a cold job's line is
 * never decoded at open. test/cold-jobs.test.ts holds it to JSON.parse.
 */
const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
export const ID_OPEN = bytes('{"id":"');
const NAME_OPEN = bytes(',"name":"');
const PAYLOAD_OPEN = bytes(',"payload":');
const STATE_RUN_AT = bytes(',"state":"scheduled","runAt":');
const CREATED_AT = bytes(',"createdAt":');
const ATTEMPT = bytes(',"attempt":');
const PRIORITY_SEQ = bytes(',"priority":0,"seq":');
const RELATIVE_END = bytes(',"relative":true}');

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

/** End of the string body at `p` (its closing quote), or -1 at a backslash or the end. */
function stringEnd(b: Uint8Array, p: number, end: number): number {
  for (let q = p; q < end; q++) {
    const c = b[q] as number;
    if (c === QUOTE) return q;
    if (c === BACKSLASH) return -1;
  }
  return -1;
}

/** End of an ASCII string body at `p` (its closing quote), or -1 at a backslash, a non-ASCII byte or the end. */
function asciiStringEnd(b: Uint8Array, p: number, end: number): number {
  for (let q = p; q < end; q++) {
    const c = b[q] as number;
    if (c === QUOTE) return q;
    if (c === BACKSLASH || c >= 0x80) return -1;
  }
  return -1;
}

/** End of an integer (an optional `-`, 1 to 15 digits: a safe integer) at `p`, or -1. */
function integerEnd(b: Uint8Array, p: number, end: number): number {
  let q = p < end && b[p] === MINUS ? p + 1 : p;
  const first = q;
  while (q < end && (b[q] as number) >= DIGIT_0 && (b[q] as number) <= DIGIT_9) q++;
  return q > first && q - first <= 15 ? q : -1;
}

function integerAt(b: Uint8Array, p: number, end: number): number {
  const negative = b[p] === MINUS;
  let value = 0;
  for (let q = negative ? p + 1 : p; q < end; q++) value = value * 10 + ((b[q] as number) - DIGIT_0);
  return negative ? -value : value;
}

/** End of a JSON number at `p` (any form JSON.stringify writes), or -1. */
function numberEnd(b: Uint8Array, p: number, end: number): number {
  let q = p;
  for (; q < end; q++) {
    const c = b[q] as number;
    // Digits, '-', '+', '.', 'e', 'E': what a number is made of (the key after it starts with ',').
    if (!((c >= DIGIT_0 && c <= DIGIT_9) || c === MINUS || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45)) break;
  }
  return q > p ? q : -1;
}

/**
 * Where the JSON value at `from` ends: the first `,` outside any string,
 * object or array (the next key's), or -1 (none, or a backslash). With no
 * backslash, every `"` opens or closes a string.
 */
function valueEnd(b: Uint8Array, from: number, end: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < end; i++) {
    const c = b[i] as number;
    if (c === QUOTE) inString = !inString;
    else if (c === BACKSLASH) return -1;
    else if (inString) continue;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === CLOSE || c === 0x5d) {
      if (--depth < 0) return -1;
    } else if (c === COMMA && depth === 0) return i > from ? i : -1;
  }
  return -1;
}

/**
 * Whether b[start, end) (a record's JSON, as a snapshot line holds it) is
 * a cold record; fills `out` when it is. See the module comment for the form.
 */
export function scanCold(b: Uint8Array, start: number, end: number, out: ColdScan): boolean {
  if (!at(b, start, end, ID_OPEN)) return false;
  const idStart = start + ID_OPEN.length;
  const idEnd = asciiStringEnd(b, idStart, end);
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
