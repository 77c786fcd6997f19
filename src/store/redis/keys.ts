/**
 * The key layout of a RedisStore (version 2), built so that no prefix and no
 * job id can produce another store's key.
 *
 * Every key is `<prefix>:<rest>` where `<rest>` never contains `:`. The
 * prefix is then everything before a key's LAST colon, whatever the prefix
 * itself contains, so two stores with different prefixes (`x` and `x:job`)
 * can never share a key. `<rest>` is one of the fixed names below, or
 * `j=<id>` (a job's hash), `r=<name>` (a name's ready set), `g=<group>` (a
 * group's ready set), `h=<name>` (the heads of the free groups whose next job
 * is of that name) or `l=<name>` (a name's rate window), with `%` and
 * `:` in ids and names percent-encoded (`%25`, `%3A`), which is injective.
 * Channels follow the same rule. Lua builds the same keys (see lua.ts); the
 * tests check both sides agree.
 *
 * On Redis Cluster every key of a store must live in one hash slot, so the
 * prefix must hold a complete hash tag (`{billing}`): Redis then hashes
 * every key on the tag, whatever follows it.
 */
import { ValidationError } from '../../errors.js';
import { show } from '../../validate.js';

/** Version of this layout, kept in `<prefix>:version`. Version 1 (godelayq 0.1) used `<prefix>:job:<id>`. */
export const LAYOUT_VERSION = '2';

/** Fixed key names after the prefix (see scripts.ts for what each holds). */
export const FIXED_KEYS = ['due', 'leases', 'done', 'dead', 'readyn', 'counts', 'version', 'readyg', 'gfree', 'grun', 'gturn', 'glive', 'rlall', 'rlu', 'pause', 'rexp', 'gone', 'ghm', 'ghn'] as const;

/** Percent-encodes `%` and `:` so the result never contains a colon. */
export function escapeKeyPart(value: string): string {
  return value.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

/** The hash tag Redis Cluster would hash a key starting with `prefix` on, or undefined when the rest of the key decides. */
export function hashTagOf(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  if (open < 0) return undefined;
  const close = prefix.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return prefix.slice(open + 1, close);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether `value` survives UTF-8 (Redis keys and values are bytes): a lone
 * surrogate becomes U+FFFD, so two different ids would share one key.
 */
export function isWellFormed(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/** Checks a user's prefix; returns it. */
export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 200 || !isWellFormed(prefix)) {
    throw new ValidationError(`Expected \`options.prefix\` to be a non-empty string of at most 200 characters (well-formed Unicode), got ${show(prefix)}`);
  }
  return prefix;
}

/** Names of every key and channel of one store. */
export class KeyLayout {
  /** `<prefix>:` as the store writes it (ioredis's own `keyPrefix` comes on top for keys, see `channelPrefix`). */
  readonly base: string;
  readonly due: string;
  readonly version: string;
  readonly wakeChannel: string;
  readonly lostChannel: string;
  /** Events published for other processes (`remoteEvents`, see pause.ts and remote-events.ts). */
  readonly eventsChannel: string;

  /**
   * @param prefix the store's prefix
   * @param clientKeyPrefix ioredis's `keyPrefix` option: it prefixes keys (so KEYS[1], from which
   *   the scripts derive every key) but not channel names, which must match what the scripts publish on.
   */
  constructor(prefix: string, clientKeyPrefix = '') {
    this.base = `${prefix}:`;
    this.due = `${this.base}due`;
    this.version = `${this.base}version`;
    this.wakeChannel = `${clientKeyPrefix}${this.base}wake`;
    this.lostChannel = `${clientKeyPrefix}${this.base}lost`;
    this.eventsChannel = `${clientKeyPrefix}${this.base}events`;
  }

  job(id: string): string {
    return `${this.base}j=${escapeKeyPart(id)}`;
  }

  ready(name: string): string {
    return `${this.base}r=${escapeKeyPart(name)}`;
  }

  /** A group's ready set (`g=<group>`). */
  group(group: string): string {
    return `${this.base}g=${escapeKeyPart(group)}`;
  }

  /** The heads index of the free groups whose next job is of `name` (`h=<name>`, see lua.ts `gindex`). */
  groupHeads(name: string): string {
    return `${this.base}h=${escapeKeyPart(name)}`;
  }

  fixed(name: (typeof FIXED_KEYS)[number]): string {
    return `${this.base}${name}`;
  }
}

/**
 * Sortable fixed-width code of a sequence number (8 characters of a 64-symbol
 * alphabet in ASCII order, so byte order is numeric order): it leads the due
 * set's members so jobs due at the same ms keep insertion order. Lua has
 * the same encoder.
 */
export const SEQ_ALPHABET = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
export const SEQ_WIDTH = 8;

export function decodeSeq(code: string): number {
  let n = 0;
  for (let i = 0; i < SEQ_WIDTH; i++) n = n * 64 + SEQ_ALPHABET.indexOf(code[i] as string);
  return n;
}

export function encodeSeq(seq: number): string {
  let out = '';
  let n = seq;
  for (let i = 0; i < SEQ_WIDTH; i++) {
    const d = n % 64;
    out = (SEQ_ALPHABET[d] as string) + out;
    n = (n - d) / 64;
  }
  return out;
}
