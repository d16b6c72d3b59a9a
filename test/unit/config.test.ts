// Configuration: bad variables are named, their values never shown; production insists on
// every secret; development generates them once.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/config/env.ts';

const key = Buffer.alloc(32, 1).toString('base64url');
const secrets = { COOKIE_KEYS: 'k'.repeat(40), KEYS_ENCRYPTION_KEY: key, CLIENT_SECRET_PEPPER: key };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('names each bad variable and never echoes its value', () => {
    const found = problems({
      ...secrets,
      PORT: 'eighty',
      ISSUER: 'ftp://secret-host-value',
      KEYS_ENCRYPTION_KEY: 'short-secret-value',
      DATABASE_URL: 'mysql://user:hunter2@db/x',
    });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'ISSUER', 'KEYS_ENCRYPTION_KEY', 'PORT']);
    const text = found.join('\n');
    for (const value of ['eighty', 'secret-host-value', 'short-secret-value', 'hunter2'])
      expect(text).not.toContain(value);
  });

  it('sends session work to DIRECT_DATABASE_URL, which defaults to DATABASE_URL', () => {
    const pooled = 'postgresql://t@pgbouncer:6432/tessera';
    const direct = 'postgresql://t@postgres:5432/tessera';
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
    expect(loadConfig({ ...secrets, DATA_DIR: dataDir, DATABASE_URL: pooled }).directDatabaseUrl).toBe(pooled);
    const both = loadConfig({ ...secrets, DATA_DIR: dataDir, DATABASE_URL: pooled, DIRECT_DATABASE_URL: direct });
    expect([both.databaseUrl, both.directDatabaseUrl]).toEqual([pooled, direct]);
    expect(problems({ ...secrets, DATA_DIR: dataDir, DIRECT_DATABASE_URL: direct })).toEqual([
      'DIRECT_DATABASE_URL: set only together with DATABASE_URL',
    ]);
  });

  it('requires every secret, the issuer and a database in production', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      'COOKIE_KEYS: required when NODE_ENV=production',
      'KEYS_ENCRYPTION_KEY: required when NODE_ENV=production',
      'CLIENT_SECRET_PEPPER: required when NODE_ENV=production',
      'ISSUER: required when NODE_ENV=production',
      'DATABASE_URL: required when NODE_ENV=production (the embedded database is for development)',
    ]);
    expect(
      problems({
        NODE_ENV: 'production',
        ...secrets,
        ISSUER: 'https://id.example.com',
        DATABASE_URL: 'postgresql://db/tessera',
      }),
    ).toEqual([]);
  });

  it('generates development secrets once, private to the owner, and reuses them', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tessera-config-')), 'data');
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.notices).toEqual([
      `generated development secrets for COOKIE_KEYS, KEYS_ENCRYPTION_KEY, CLIENT_SECRET_PEPPER in ${join(dir, 'secrets.json')}`,
    ]);
    expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    const second = loadConfig({ DATA_DIR: dir });
    expect(second.keysEncryptionKey.equals(first.keysEncryptionKey)).toBe(true);
    expect(second.cookieKeys).toEqual(first.cookieKeys);
    expect(second.notices[0]).toMatch(/^using development secrets/);
    expect(JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')).keysEncryptionKey).toHaveLength(43);
  });

  it('defaults the issuer to localhost on the port, without a trailing slash', () => {
    expect(loadConfig({ ...secrets, PORT: '4000' }).issuer).toBe('http://localhost:4000');
    expect(loadConfig({ ...secrets, ISSUER: 'https://id.example.com/' }).issuer).toBe('https://id.example.com');
  });
});
