// The client and API services against real Postgres, in-process: what needs the database to
// refuse, and that a client's settings survive the round trip through the one metadata mapping.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../src/db/client.ts';
import { createQueries } from '../../src/db/queries/index.ts';
import { Conflict, NotFound } from '../../src/errors.ts';
import { apiService } from '../../src/services/apis.ts';
import type { ClientInput } from '../../src/services/client-metadata.ts';
import { clientService } from '../../src/services/clients.ts';
import { randomId } from '../setup/tessera.ts';

const db = createDatabase({ url: inject('databaseUrl'), poolMax: 4 });
const queries = createQueries(db);
const apis = apiService(queries.apis);
const clients = clientService({
  clients: queries.clients,
  apis: queries.apis,
  exchange: queries.tokenExchange,
  pepper: Buffer.alloc(32, 9),
});
let audience: string;
let other: string;

beforeAll(async () => {
  audience = `https://${randomId('ledger')}.example.test`;
  other = `https://${randomId('reports')}.example.test`;
  await apis.create({ audience, scope: 'a:read a:write' });
  await apis.create({ audience: other, scope: 'r:read' });
});
afterAll(() => db.close());

describe('client and API services', () => {
  it('refuse an unknown client and a second API with the same audience', async () => {
    await expect(clients.rotateSecret('nobody', 0)).rejects.toEqual(new NotFound('no client has id nobody'));
    await expect(apis.create({ audience })).rejects.toEqual(
      new Conflict(`an API with audience ${audience} exists already`),
    );
  });

  it('keep every setting through an empty update and an identical apply', async () => {
    const input: ClientInput & { id: string } = {
      id: randomId('round-trip'),
      name: 'round trip',
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      redirectUris: ['https://app.example.test/cb'],
      postLogoutRedirectUris: ['https://app.example.test/bye'],
      authMethod: 'tls_client_auth',
      tlsSubject: { property: 'tls_client_auth_san_uri', value: 'spiffe://example.test/app' },
      scope: 'openid profile a:read r:read',
      apis: [other, audience],
      serves: [audience],
      firstParty: true,
      idTokenAlg: 'ES256',
      dpopBound: true,
      certBound: true,
      requirePar: true,
    };
    const { client: created } = await clients.create(input);
    const { updated_at: _u, ...settings } = created;
    expect(settings).toMatchObject({
      scope: 'openid profile',
      apis: [
        { audience: other, scopes: ['r:read'], default: true },
        { audience, scopes: ['a:read'], default: false },
      ],
      serves: [audience],
      first_party: true,
      id_token_signed_response_alg: 'ES256',
      tls_client_auth_san_uri: 'spiffe://example.test/app',
      dpop_bound_access_tokens: true,
      tls_client_certificate_bound_access_tokens: true,
      require_pushed_authorization_requests: true,
    });
    expect(await clients.update(input.id, {})).toMatchObject(settings);
    expect(await clients.apply(input, undefined)).toBe('unchanged');
  });
});
