// Drops module header comments (the HOW/WHY essays at the top of source
// files) from the bundled .d.ts files: rollup's dts bundling keeps a file's
// first JSDoc block, which documents the module for its maintainers, not a
// declaration for users. Such a block is always followed directly by the
// JSDoc of the declaration below it; a declaration's own JSDoc never is.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const orphan = /\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*(?=\/\*\*)/g;
let dropped = 0;
for (const name of readdirSync(dist)) {
  if (!/\.d\.c?ts$/.test(name)) continue;
  const file = path.join(dist, name);
  const text = readFileSync(file, 'utf8');
  const cleaned = text.replace(orphan, () => {
    dropped++;
    return '';
  });
  if (cleaned !== text) writeFileSync(file, cleaned);
}
process.stdout.write(`clean-dts: dropped ${dropped} module header comment(s) from dist/*.d.ts\n`);
