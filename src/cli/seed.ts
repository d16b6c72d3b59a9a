// tessera seed FILE: apply a declarative file of APIs, clients, users and API keys.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { readSeedVariable } from '../config/env.ts';
import { InvalidInput } from '../errors.ts';
import { applySeed, parseSeed } from '../services/seed.ts';
import { normalizeEmail } from '../services/users.ts';
import type { Run } from './context.ts';

export function registerSeedCommand(program: Command, run: Run): void {
  program
    .command('seed')
    .description('create or update the APIs, clients, users and organizations in a JSON or YAML file (idempotent)')
    .argument('<file>')
    .action((file: string) =>
      run(async ({ apis, apiKeys, clients, users, roles, organizations, queries, config, audit, actor }, out) => {
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch {
          throw new InvalidInput(`cannot read ${file}`);
        }
        let document: unknown;
        try {
          // YAML is a superset of JSON, so one parser reads both.
          document = parseYaml(text);
        } catch (err) {
          throw new InvalidInput(`${file} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
        }
        const report = await applySeed(parseSeed(document), {
          apis,
          clients,
          users,
          roles,
          apiKeys,
          pepper: config.clientSecretPepper,
          readEnv: readSeedVariable,
          audit,
          actor,
          organizations: {
            service: organizations,
            apiScopes: async (audience) => (await queries.apis.findByAudience(audience))?.scopes,
            userExists: async (email) => !!(await queries.users.findByEmail(normalizeEmail(email))),
          },
        });
        out.result(
          report,
          () =>
            [
              ...Object.entries(report.apis).map(([k, v]) => `api ${k}: ${v}`),
              ...Object.entries(report.roles ?? {}).map(([k, v]) => `role ${k}: ${v}`),
              ...Object.entries(report.clients).map(([k, v]) => `client ${k}: ${v}`),
              ...Object.entries(report.users).map(([k, v]) => `user ${k}: ${v}`),
              ...Object.entries(report.organizations ?? {}).map(([k, v]) => `organization ${k}: ${v}`),
              ...Object.entries(report.api_keys ?? {}).map(([k, v]) => `api key ${k}: ${v}`),
            ].join('\n') || 'the seed file is empty',
        );
      }),
    );
}
