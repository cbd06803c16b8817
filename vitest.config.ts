import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // UPDATE_GOLDEN=1 is the project's alias for vitest -u.
    update: process.env.UPDATE_GOLDEN === '1' ? 'all' : undefined,
  },
});
