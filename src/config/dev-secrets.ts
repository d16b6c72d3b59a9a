// Development mode generates the secrets an operator has not set, once, into the data
// directory, so that `npm start` works with no set-up and restarts keep sessions, client
// secrets and signing keys valid. Production never comes here (config.ts refuses to start).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevSecrets {
  cookieKeys: string[];
  keysEncryptionKey: string;
  clientSecretPepper: string;
}

const key32 = () => randomBytes(32).toString('base64url');

/** Returns the stored development secrets, creating the file (mode 0600) on first use. */
export function loadOrCreateDevSecrets(dataDir: string): { secrets: DevSecrets; path: string; created: boolean } {
  const path = join(dataDir, 'secrets.json');
  try {
    return { secrets: JSON.parse(readFileSync(path, 'utf8')) as DevSecrets, path, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // Traversable (not readable) by others: as root, the embedded PostgreSQL runs as `postgres` and must reach pgdata/.
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  const secrets: DevSecrets = { cookieKeys: [key32()], keysEncryptionKey: key32(), clientSecretPepper: key32() };
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return { secrets, path, created: true };
}
