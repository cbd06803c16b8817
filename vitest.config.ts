import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['dist/**', 'node_modules/**'],
    // Most files wait on real child processes, Git, HTTP and etcd rather than on the CPU: vitest's
    // default (CPUs - 1) runs them one at a time on a 2-core machine, which CI's time limit cannot afford.
    maxWorkers: Math.max(3, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // UPDATE_GOLDEN=1 is the project's alias for vitest -u.
    update: process.env.UPDATE_GOLDEN === '1' ? 'all' : undefined,
  },
});
