import { defineConfig } from 'tsup';

// Entry points: the core, the Redis and PostgreSQL stores and the OpenTelemetry instrumentation on their own
// subpaths so the main entry never imports ioredis, pg or @opentelemetry/api (optional peer
// dependencies, external).
// Code splitting puts what both entries use (the error classes above all) in
// one shared chunk per format, so `instanceof DuplicateJobError` holds for an
// error thrown by RedisStore or PostgresStore and checked against the class from 'godelayq'.
export default defineConfig([
  {
    entry: { index: 'src/index.ts', redis: 'src/redis.ts', postgres: 'src/postgres.ts', otel: 'src/otel.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    // No source maps in the package: they were 1.2 MB of a 1.9 MB tarball, and
    // dist/ is unminified, commented JavaScript that reads fine without them.
    sourcemap: false,
    clean: true,
    target: 'node20',
    splitting: true,
    treeshake: true,
    external: ['ioredis', 'pg', '@opentelemetry/api'],
  },
  // The `godelayq` command (package.json `bin`): an ESM file with a shebang,
  // built on its own (no .d.ts; the library's files stay as they are). Its
  // Redis code is a separate chunk loaded only for a redis:// store, so the
  // command runs without ioredis (an optional peer) for a folder.
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: false,
    clean: false,
    target: 'node20',
    splitting: true,
    treeshake: true,
    external: ['ioredis'],
    banner: { js: '#!/usr/bin/env node' },
    // Its chunks are named cli-*: the command's own copy of the code, apart
    // from the library's (whose error classes must exist once per format).
    esbuildOptions(options) {
      options.chunkNames = 'cli-[name]-[hash]';
    },
  },
]);
