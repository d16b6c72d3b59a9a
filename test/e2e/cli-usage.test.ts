// The admin CLI as a new user meets it: quiet write commands, one-line refusals of bad input,
// text output that says what is stored, and the README's way of running it piped into jq.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomId, tessera } from '../setup/tessera.ts';

describe('write commands', () => {
  // pg 8 warns (DeprecationWarning) when a second query is sent on a client that is still busy;
  // Prisma's adapter did that inside transactions. Each command runs in its own process, so each
  // would print the warning once.
  it('print nothing on stderr', async () => {
    const audience = `https://${randomId('quiet')}.example.test`;
    const dir = mkdtempSync(join(tmpdir(), 'tessera-quiet-'));
    const seedApi = `https://${randomId('quiet-seed')}.example.test`;
    writeFileSync(
      join(dir, 'seed.yaml'),
      [
        'apis:',
        `  - audience: ${seedApi}`,
        '    scopes: [s:read]',
        'clients:',
        `  - client_id: ${randomId('quiet-seed')}`,
        '    name: seeded',
        '    grant_types: [authorization_code, refresh_token]',
        '    public: true',
        '    redirect_uris: [http://127.0.0.1:9/cb]',
        `    apis: [${seedApi}]`,
      ].join('\n'),
    );
    const results: Record<string, { code: number; stderr: string }> = {};
    [results['apis create'], results['users create'], results['keys rotate'], results.seed] = await Promise.all([
      tessera(['apis', 'create', '--audience', audience, '--scope', 'q:read']),
      tessera(['users', 'create', '--email', `${randomId('quiet')}@example.test`, '--password-stdin'], {
        input: 'a quiet password',
      }),
      tessera(['keys', 'rotate']),
      tessera(['seed', join(dir, 'seed.yaml')]),
    ]);
    const created = await tessera(
      ['--json', 'clients', 'create', '--name', 'quiet', '--grant-types', 'client_credentials'].concat([
        '--api',
        audience,
        '--serves',
        audience,
      ]),
    );
    results['clients create'] = created;
    const id = JSON.parse(created.stdout).client_id as string;
    [results['clients update'], results['clients rotate-secret']] = await Promise.all([
      tessera(['clients', 'update', id, '--name', 'still quiet', '--api', audience]),
      tessera(['clients', 'rotate-secret', id]),
    ]);
    expect(
      Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { code: r.code, stderr: r.stderr }])),
    ).toEqual(Object.fromEntries(Object.keys(results).map((k) => [k, { code: 0, stderr: '' }])));
  }, 120_000);
});
