/**
 * Every ```ts block of the README must compile against the real API: each block
 * is written to a temp folder as its own module, with `godelayq` mapped to
 * src/index.ts, and type-checked with the compiler API.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');

function blocks(markdown: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const re = /^```ts\n([\s\S]*?)^```/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    out.push({ line: markdown.slice(0, m.index).split('\n').length, code: m[1] as string });
  }
  return out;
}

describe('README', () => {
  it('has TypeScript examples, and every one of them type-checks', () => {
    const found = blocks(readFileSync(join(root, 'README.md'), 'utf8'));
    assert.ok(found.length >= 8, `expected the README to show at least 8 ts blocks, got ${found.length}`);
    const dir = mkdtempSync(join(tmpdir(), 'godelayq-readme-'));
    try {
      const files = found.map((b, i) => {
        const file = join(dir, `block-${i}-line-${b.line}.ts`);
        writeFileSync(file, `${b.code}\nexport {};\n`);
        return file;
      });
      const program = ts.createProgram(files, {
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts', 'lib.dom.d.ts'],
        types: ['node'],
        typeRoots: [join(root, 'node_modules/@types')],
        skipLibCheck: true,
        noEmit: true,
        baseUrl: root,
        // ioredis: the README's Redis Cluster example builds its own client.
        paths: { godelayq: ['src/index.ts'], 'godelayq/redis': ['src/redis.ts'], 'godelayq/postgres': ['src/postgres.ts'], 'godelayq/otel': ['src/otel.ts'], ioredis: ['node_modules/ioredis'] },
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || files.includes(resolve(d.file.fileName)));
      const text = diagnostics.map((d) => {
        const where = d.file && d.start !== undefined ? `${d.file.fileName.split('/').pop()}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
        return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
      assert.deepEqual(text, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
