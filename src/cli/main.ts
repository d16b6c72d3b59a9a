// The `tessera` admin command. Runs on the server's configuration (the same environment
// variables), so it reaches the same database, embedded or not.
import { Command, CommanderError } from 'commander';
import { loadConfig } from '../config/config.ts';
import { ConfigError, parseRemoteCliEnv } from '../config/env.ts';
import { applyMigrationsAt, MIGRATIONS_DIR, migrationPlan } from '../db/migrate.ts';
import { TesseraError } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import { openDatabase } from '../db/open.ts';
import { registerAdminCommands } from './admin.ts';
import { registerApiCommands } from './apis.ts';
import { registerApiKeyCommands } from './api-keys.ts';
import { registerClientCommands } from './clients.ts';
import { registerDcrCommands } from './dcr.ts';
import { registerKeyCommands } from './keys.ts';
import { registerOperationsCommands } from './operations.ts';
import { registerOrganizationCommands } from './organizations.ts';
import { type Run, withCliContext } from './context.ts';
import { dashLedIdsAsOperands } from './operands.ts';
import { createOutput } from './output.ts';
import { remoteContext } from './remote.ts';
import { registerSeedCommand } from './seed.ts';
import { registerUserCommands } from './users.ts';
import { registerWebhookCommands } from './webhooks.ts';
import { registerRoleCommands } from './roles.ts';

const program = new Command('tessera')
  .description('administer a Tessera authorization server')
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError()
  .exitOverride();

function setup() {
  const config = loadConfig();
  // The CLI's own output is its result; server-style logs go to stderr, warnings only.
  const logger = createLogger({ level: 'warn', destination: process.stderr as never });
  return { config, logger, out: createOutput(program.opts().json === true) };
}

const run: Run = async (action) => {
  // With TESSERA_URL (and its client), the admin API instead of the database (cli/remote.ts).
  const remote = parseRemoteCliEnv();
  if (remote) return action(remoteContext(remote), createOutput(program.opts().json === true));
  const { config, logger, out } = setup();
  await withCliContext(config, logger, (ctx) => action(ctx, out));
};

program
  .command('migrate')
  .description('apply pending database migrations')
  .option('--dry-run', 'print the migrations that would run, with their SQL, and change nothing')
  .action(async (options: { dryRun?: boolean }) => {
    const { config, logger, out } = setup();
    const { db, embedded } = await openDatabase(config, logger);
    try {
      if (options.dryRun) {
        // Reads _prisma_migrations only (and not even creates it): safe against a live database.
        const pending = await migrationPlan(db.pool, MIGRATIONS_DIR);
        out.result({ dry_run: true, pending }, () =>
          pending.length
            ? [
                `would apply ${pending.length} migrations (dry run, nothing changed):`,
                ...pending.map((m) => `\n-- ${m.name}\n${m.sql.trimEnd()}`),
              ].join('\n')
            : 'the database is up to date (dry run, nothing changed)',
        );
        return;
      }
      const { applied } = await applyMigrationsAt(db.directUrl, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
      out.result({ applied }, () => (applied.length ? `applied ${applied.join(', ')}` : 'the database is up to date'));
    } finally {
      await db.close();
      await embedded?.stop();
    }
  });

registerApiCommands(program, run);
registerApiKeyCommands(program, run);
registerClientCommands(program, run);
registerDcrCommands(program, run);
registerSeedCommand(program, run);
registerUserCommands(program, run);
registerKeyCommands(program, run);
registerOperationsCommands(program, run);
registerAdminCommands(program, run);
registerWebhookCommands(program, run);
registerOrganizationCommands(program, run);
// After users, clients and apis: it adds assign-role, remove-role and `apis update` to them.
registerRoleCommands(program, run);

let code = 0;
try {
  await program.parseAsync(dashLedIdsAsOperands(program, process.argv));
} catch (err) {
  code = exitCodeFor(err);
}
// Exit explicitly once stdout has drained: the database pool's timers must not keep a finished
// command alive.
process.stdout.write('', () => process.exit(code));

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // usage errors; commander printed them
  if (err instanceof ConfigError || err instanceof TesseraError) {
    process.stderr.write(`tessera: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`tessera: unexpected error: ${(err as Error).message}\n`);
  return 1;
}
