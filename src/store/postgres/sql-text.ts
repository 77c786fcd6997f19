/**
 * Text surgery on released migrations: a later migration that changes a few
 * statements of a function takes that function's released text and replaces
 * them, rather than re-typing the function (a drift between the two copies
 * would go unseen). Both helpers throw when the released text is not as
 * expected, so a change to it fails every PostgreSQL test at once.
 */

/** `text` with `from` replaced once; throws when `from` is not there exactly once. */
export function replaceOnce(text: string, from: string, to: string, where: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + from.length) >= 0) throw new Error(`${where}: expected one ${JSON.stringify(from)}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** The text of the function that starts with `head` in a migration's `sql`, up to its closing `END $f$;`. */
export function functionText(sql: string, head: string, where: string): string {
  const start = sql.indexOf(head);
  const end = sql.indexOf('END $f$;', start);
  if (start < 0 || end < 0) throw new Error(`${where}: expected ${JSON.stringify(head)} in the migration`);
  return sql.slice(start, end + 'END $f$;'.length);
}
