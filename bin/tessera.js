#!/usr/bin/env node
// The installed `tessera` command. Node 22.18+ runs the TypeScript sources directly.
await import('../src/cli/main.ts');
