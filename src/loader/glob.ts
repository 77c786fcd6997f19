/**
 * File-name globs for DirectoryLoader's `pattern`: `*` matches any run of
 * characters (also none), `?` exactly one; everything else is literal. As in
 * a shell, a wildcard never matches a leading dot, so hidden files (editor
 * swap files, the loader's own state file) are ignored unless the pattern
 * itself starts with a dot. Names only: the loader does not recurse.
 */
import { ValidationError } from '../errors.js';
import { show } from '../validate.js';

/** Compiles `pattern` into a predicate on file names. */
export function compileGlob(pattern: unknown): (name: string) => boolean {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.includes('/') || pattern.includes('\\')) {
    throw new ValidationError(`Expected \`options.pattern\` to be a non-empty file-name glob such as '*.json' (no path separators), got ${show(pattern)}`);
  }
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const regex = new RegExp(`^${source}$`, 'su');
  const dotAllowed = pattern.startsWith('.');
  return (name) => (dotAllowed || !name.startsWith('.')) && regex.test(name);
}
