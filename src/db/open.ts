// Opening the database a process runs on: DATABASE_URL when it is set, otherwise the embedded
// PostgreSQL in DATA_DIR (for development and trying Tessera). The server, the cluster's
// primary and the CLI all open it this way.
import type { Config } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';
import { createDatabase, type Database } from './client.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.ts';

/** Starts (or joins) the embedded PostgreSQL in DATA_DIR, for a configuration without DATABASE_URL. */
export async function startEmbeddedDatabase(config: Config, logger: Logger): Promise<EmbeddedDatabase> {
  const embedded = await startEmbeddedPostgres(config.dataDir, (msg) => logger.info(msg));
  logger.info(
    { dataDir: config.dataDir },
    'DATABASE_URL is not set: using the embedded PostgreSQL (for development and trying Tessera)',
  );
  return embedded;
}

/** Connects to the configured database, or starts the embedded one when none is configured. */
export async function openDatabase(
  config: Config,
  logger: Logger,
): Promise<{ db: Database; embedded?: EmbeddedDatabase }> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedDatabase(config, logger);
  const db = createDatabase({
    url: config.databaseUrl ?? embedded!.url,
    directUrl: config.directDatabaseUrl ?? embedded!.url,
    poolMax: config.databasePoolMax,
  });
  return embedded ? { db, embedded } : { db };
}
