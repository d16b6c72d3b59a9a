// Generates the Prisma client into src/db/generated (run by `npm install` and `npm run generate`).
// `prisma generate` does not execute the schema engine, but the CLI insists on finding one and
// would try to download it, which these machines cannot; any existing file satisfies the check.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}/node_modules/prisma/build/index.js`)) {
  // A production-only install (npm ci --omit=dev) has no Prisma CLI; the image copies in the
  // client generated at build time.
  console.log('prisma-generate: the Prisma CLI is not installed; keeping src/db/generated as it is');
  process.exit(0);
}
const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
process.exit(result.status ?? 1);
