import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/setup/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // Files run in parallel on the 2-core machines; each test makes its own clients and APIs.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
