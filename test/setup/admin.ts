// The admin API from a test: an admin client (on the shared database or a test's own), a token
// for it by client credentials with oauth4webapi, and calls that return status, headers and body.
import * as oauth from 'oauth4webapi';
import { ADMIN_API, ADMIN_AUDIENCE, ADMIN_SCOPES } from '../../src/services/admin-api.ts';
import { randomId, tessera, tesseraJson } from './tessera.ts';

const options = { [oauth.allowInsecureRequests]: true };

export interface AdminClient {
  client_id: string;
  client_secret: string;
}

/**
 * A client for the admin API with these scopes (default: all). The admin API itself is created
 * first if this database has none yet (by whichever test gets there first; the others find it).
 */
export async function createAdminClient(
  scopes: readonly string[] = ADMIN_SCOPES,
  env?: Record<string, string>,
): Promise<AdminClient> {
  const createApi = () =>
    tessera(
      [
        'apis',
        'create',
        '--audience',
        ADMIN_AUDIENCE,
        '--scope',
        ADMIN_API.scope,
        '--ttl',
        String(ADMIN_API.accessTokenTtl),
      ],
      env ? { env } : {},
    );
  let api = await createApi();
  // Two tests creating it at once: the loser's INSERT fails on the unique audience (apis create
  // checks first, then inserts); once more, it finds it.
  if (api.code !== 0 && api.stderr.includes('apis_audience_key')) api = await createApi();
  if (api.code !== 0 && !api.stderr.includes('exists already')) throw new Error(`apis create: ${api.stderr}`);
  return tesseraJson<AdminClient>(
    [
      'clients',
      'create',
      '--name',
      randomId('admin'),
      '--grant-types',
      'client_credentials',
      '--api',
      ADMIN_AUDIENCE,
      '--scope',
      scopes.join(' '),
    ],
    env,
  );
}

/** An admin access token by client credentials (oauth4webapi), for `scope` or all the client's. */
export async function adminToken(issuer: string, client: AdminClient, scope?: string): Promise<string> {
  const as = await oauth.processDiscoveryResponse(
    new URL(issuer),
    await oauth.discoveryRequest(new URL(issuer), options),
  );
  const c = { client_id: client.client_id };
  const auth = oauth.ClientSecretBasic(client.client_secret);
  const parameters = new URLSearchParams({ resource: ADMIN_AUDIENCE, ...(scope ? { scope } : {}) });
  const res = await oauth.clientCredentialsGrantRequest(as, c, auth, parameters, options);
  return (await oauth.processClientCredentialsResponse(as, c, res)).access_token;
}

export interface AdminAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the admin API at `issuer` with `token`: a JSON body is sent as JSON. */
export function adminCaller(issuer: string, token: string | (() => string)) {
  return async function admin<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<AdminAnswer<T>> {
    const res = await fetch(`${issuer}/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${typeof token === 'function' ? token() : token}`,
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
  };
}

/**
 * A person with admin rights for the console (/admin): a user given a new role that grants
 * these admin scopes (default: all but the signing keys', which a shared database's other
 * tests rely on). The admin API is created first when missing (createAdminClient).
 */
export async function createConsoleAdmin(
  scopes: readonly string[] = ADMIN_SCOPES.filter((s) => !s.startsWith('admin:keys')),
  /** The CLI's environment, for a test's own database (DATABASE_URL). */
  env?: Record<string, string>,
): Promise<{ email: string; password: string; id: string }> {
  await createAdminClient(ADMIN_SCOPES, env);
  const role = randomId('console-admin');
  await tesseraJson(['roles', 'create', role, '--api', ADMIN_AUDIENCE, '--scope', scopes.join(' ')], env);
  const email = `${randomId('admin')}@example.test`;
  const password = 'correct horse battery';
  const created = await tessera(['users', 'create', '--email', email, '--password-stdin'], {
    input: password,
    ...(env ? { env } : {}),
  });
  if (created.code !== 0) throw new Error(`users create: ${created.stderr}`);
  await tesseraJson(['users', 'assign-role', email, '--role', role], env);
  const { id } = await tesseraJson<{ id: string }>(['users', 'show', email], env);
  return { email, password, id };
}

/**
 * The CLI's two modes (README "Admin API", the CLI remotely): on the database, and through a
 * server's admin API (cli/remote.ts) with the same arguments. A test run for each mode with the
 * same expectations proves that the outputs are the same.
 */
export const CLI_MODES = ['database', 'remote'] as const;
export type CliMode = (typeof CLI_MODES)[number];

/**
 * `tessera` and `tesseraJson` in `mode`; `remote` is read at each call (it is made in a beforeAll):
 * the server's issuer and an admin client.
 */
export function cliIn(mode: CliMode, remote: () => { issuer: string; admin: AdminClient }) {
  const env = (extra?: Record<string, string>) => {
    if (mode === 'database') return extra;
    const { issuer, admin } = remote();
    return {
      TESSERA_URL: issuer,
      TESSERA_CLIENT_ID: admin.client_id,
      TESSERA_CLIENT_SECRET: admin.client_secret,
      ...extra,
    };
  };
  return {
    tessera: (args: string[], options: { env?: Record<string, string>; input?: string } = {}) => {
      const withEnv = env(options.env);
      return tessera(args, { ...options, ...(withEnv ? { env: withEnv } : {}) });
    },
    tesseraJson: <T = Record<string, unknown>>(args: string[], extra?: Record<string, string>) =>
      tesseraJson<T>(args, env(extra)),
  };
}
