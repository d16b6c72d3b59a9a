import { defineConfig } from 'vitest/config';
import { SERVER_NODE_FLAGS } from './src/node-flags.ts';

export default defineConfig({
  test: {
    globalSetup: ['test/setup/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // The servers that tests start in their own process run under Tessera's Node flags; so do
    // the ones started in a test file's worker.
    execArgv: [...SERVER_NODE_FLAGS],
    // Files run in parallel on the 2-core machines; each test makes its own clients and APIs.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
