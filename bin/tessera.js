#!/usr/bin/env node
// The installed `tessera` command. In a checkout it runs the TypeScript sources (Node 22.18+
// strips their types); the image ships only the compiled JavaScript (`npm run build`, build/),
// which starts sooner and needs less memory without the type stripper.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(sources) ? sources.href : new URL('../build/cli/main.js', import.meta.url).href);
