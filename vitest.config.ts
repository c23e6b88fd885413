import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests start real servers (Prometheus, Kafka, the mesh); two cores do not
    // run many of those at once without timeouts, so files run with bounded parallelism.
    maxWorkers: 2,
  },
});
