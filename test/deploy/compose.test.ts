// docker-compose.yml, .env.example and the README's "Running with Docker Compose": the secrets
// can be made without Node on the host, they are what Tessera accepts, .env.example names every
// variable compose requires, and the database password reaches PostgreSQL whatever characters
// it holds (it is not pasted into a URL).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';

const root = join(import.meta.dirname, '..', '..');
const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: compose files are free-form YAML, read by path.
const services = (parse(compose) as any).services as Record<string, { environment?: Record<string, string> }>;

/** KEY=value lines of an env file (comments and blank lines skipped). */
const envFile = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('docker compose', () => {
  it('passes the database password apart from the URL, so that any password works', () => {
    const env = services.tessera!.environment!;
    expect(env.DATABASE_URL).toBe('postgresql://tessera@postgres:5432/tessera');
    expect(env.PGPASSWORD).toBe('${POSTGRES_PASSWORD}');
    expect(compose).not.toMatch(/:\$\{POSTGRES_PASSWORD\}@/);

    // pg takes the password from PGPASSWORD when the URL has none; in a URL these characters
    // would end the user, the host or the path.
    const password = 'p@ss/w#rd:%?&';
    const before = process.env.PGPASSWORD;
    process.env.PGPASSWORD = password;
    try {
      // connectionParameters is what pg connects with (not in @types/pg).
      const { connectionParameters } = new pg.Client({ connectionString: env.DATABASE_URL }) as unknown as {
        connectionParameters: Record<string, unknown>;
      };
      expect(connectionParameters).toMatchObject({ user: 'tessera', host: 'postgres', database: 'tessera' });
      expect(connectionParameters.password).toBe(password);
    } finally {
      if (before === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = before;
    }
  });

  it('.env.example names every variable compose requires and every secret Tessera needs', () => {
    const example = envFile(readFileSync(join(root, '.env.example'), 'utf8'));
    const required = [...compose.matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1]!);
    for (const name of [...required, 'COOKIE_KEYS', 'KEYS_ENCRYPTION_KEY', 'CLIENT_SECRET_PEPPER'])
      expect(Object.keys(example)).toContain(name);
  });

  it("the README's secrets come from openssl alone and Tessera accepts them", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Running with Docker Compose'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    const making = block
      .split('\n')
      .filter((l) => !l.startsWith('docker '))
      .join('\n');
    // A PATH with a shell and text tools, openssl, and no node.
    const dir = mkdtempSync(join(tmpdir(), 'tessera-compose-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['bash', 'sh', 'cat', 'cp', 'tr', 'sed', 'head', 'openssl']) {
      symlinkSync(execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
    }
    execFileSync('bash', ['-c', `set -euo pipefail\n${making}`], { cwd: dir, env: { PATH: bin } });
    const env = envFile(readFileSync(join(dir, '.env'), 'utf8'));
    expect(env.POSTGRES_PASSWORD).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const config = loadConfig({
      ...env,
      NODE_ENV: 'production',
      DATABASE_URL: services.tessera!.environment!.DATABASE_URL!,
    });
    expect(config.issuer).toBe('http://localhost:3000');
  });
});
