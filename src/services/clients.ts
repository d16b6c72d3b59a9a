// Registering and changing OAuth clients, and their secrets. No Koa and no oidc-provider here;
// the provider reads what this writes through the adapter. What the settings must satisfy is in
// client-validation.ts, how they are named in client-metadata.ts, what an admin sees in
// client-view.ts, and token-exchange policies in client-exchange-policies.ts.
import { randomBytes } from 'node:crypto';
import type { ApiQueries } from '../db/queries/apis.ts';
import type { PagePosition } from '../db/queries/paging.ts';
import type { ClientQueries, ClientRecord, ClientWrite } from '../db/queries/clients.ts';
import type { TokenExchangePolicyQueries } from '../db/queries/token-exchange-policies.ts';
import { createOrConflict, InvalidInput, NotFound } from '../errors.ts';
import { noAudit, type Audit } from './audit.ts';
import { exchangePolicies } from './client-exchange-policies.ts';
import { type ClientInput, inputFromMetadata, metadataFromRecord } from './client-metadata.ts';
import { generateSecret } from './client-secrets.ts';
import { usesSecret } from './client-secrets.ts';
import { checkAuthMethodChange, checkClientId, checkNotReserved, validateClient } from './client-validation.ts';
import { clientView, type ClientView } from './client-view.ts';

// A day: long enough to roll a new secret out to every instance of a service, short enough that
// a secret rotated because it leaked does not stay usable for long.
export const DEFAULT_SECRET_GRACE = 86_400;
// Ninety days: longer than any roll-out needs; past that the old secret is simply still in use.
export const MAX_SECRET_GRACE = 90 * 86_400;

export function clientService(deps: {
  clients: ClientQueries;
  apis: ApiQueries;
  exchange?: TokenExchangePolicyQueries;
  pepper: Buffer;
  audit?: Audit;
  actor?: string;
}) {
  const { clients, apis, pepper } = deps;
  const audit = deps.audit ?? noAudit;
  const actor = deps.actor ?? 'system';

  /** Validation over the APIs the input names, read here because validation itself is pure. */
  async function validate(input: ClientInput): Promise<ClientWrite> {
    return validateClient(input, await apis.findManyByAudience([...(input.apis ?? []), ...(input.serves ?? [])]));
  }

  async function get(id: string): Promise<ClientRecord> {
    const client = await clients.find(id);
    if (!client) throw new NotFound(`no client has id ${id}`);
    return client;
  }

  return {
    ...exchangePolicies({ getClient: get, apis, exchange: deps.exchange, audit, actor }),

    /** Registers a client; a confidential one gets a secret, returned here once. */
    async create(input: ClientInput): Promise<{ client: ClientView; clientSecret: string | undefined }> {
      if (input.id !== undefined) checkClientId(input.id);
      const data = await validate(input);
      const id = input.id ?? newClientId();
      const secret = usesSecret(data.tokenEndpointAuthMethod) ? generateSecret(pepper) : undefined;
      const created = await createOrConflict(
        () => clients.create(id, data, secret && { hash: secret.hash, hint: secret.hint }),
        `a client with id ${id} exists already`,
      );
      await audit.record({ type: 'client.created', actor, subject: id, details: { grant_types: data.grantTypes } });
      return { client: clientView(created), clientSecret: secret?.value };
    },

    /** Changes what `changes` names and keeps the rest; list settings replace the whole list. */
    /** With `version` (If-Match), only if the client is still at that version (else PreconditionFailed). */
    async update(id: string, changes: Partial<ClientInput>, options: { version?: Date } = {}): Promise<ClientView> {
      const current = await get(id);
      const merged = { ...inputFromMetadata(metadataFromRecord(current)), ...stripUndefined(changes) } as ClientInput;
      if (changes.public === undefined && changes.authMethod !== undefined) merged.public = false;
      // A new key source replaces the old one; a new auth method drops a subject it does not use.
      if (changes.jwks) merged.jwksUri = undefined;
      if (changes.jwksUri) merged.jwks = undefined;
      if (changes.authMethod !== undefined && changes.authMethod !== 'tls_client_auth' && !changes.tlsSubject)
        merged.tlsSubject = undefined;
      const data = await validate(merged);
      checkAuthMethodChange(current.tokenEndpointAuthMethod, data.tokenEndpointAuthMethod);
      const updated = clientView(await clients.update(id, data, options.version));
      await audit.record({ type: 'client.updated', actor, subject: id });
      return updated;
    },

    /** Creates or updates the client to match; for the seed file, which names every client's id. */
    async apply(input: ClientInput & { id: string }, secret: { hash: Buffer; hint: string } | undefined) {
      checkNotReserved(input.id);
      const data = await validate(input);
      const existing = await clients.find(input.id);
      if (!existing) {
        await clients.create(input.id, data, secret);
        return 'created' as const;
      }
      const before = JSON.stringify(comparableView(existing));
      const secretKnown = !secret || (await clients.activeSecretHashes(input.id)).some((h) => h.equals(secret.hash));
      const updated = await clients.update(input.id, data);
      if (!secretKnown) await clients.rotateSecret(input.id, secret!, new Date());
      return before === JSON.stringify(comparableView(updated)) && secretKnown
        ? ('unchanged' as const)
        : ('updated' as const);
    },

    list: async () => (await clients.list()).map(clientView),
    show: async (id: string) => clientView(await get(id)),
    page: async (limit: number, after?: PagePosition, search?: string) =>
      (await clients.page(limit, after, search)).map(clientView),

    async delete(id: string) {
      if (!(await clients.delete(id))) throw new NotFound(`no client has id ${id}`);
      await audit.record({ type: 'client.deleted', actor, subject: id });
    },

    /**
     * Issues a new secret. The old ones stay valid for `graceSeconds` so that deployments can
     * roll over to the new one without downtime; 0 ends them now.
     */
    async rotateSecret(
      id: string,
      graceSeconds: number,
    ): Promise<{ clientSecret: string; previousValidUntil: string }> {
      const client = await get(id);
      if (client.tokenEndpointAuthMethod === 'none') throw new InvalidInput('a public client has no secret to rotate');
      if (!usesSecret(client.tokenEndpointAuthMethod))
        throw new InvalidInput(`a ${client.tokenEndpointAuthMethod} client has no secret to rotate`);
      if (!Number.isInteger(graceSeconds) || graceSeconds < 0)
        throw new InvalidInput('grace period must be a whole number of seconds, 0 or more');
      const secret = generateSecret(pepper);
      const until = new Date(Date.now() + graceSeconds * 1000);
      await clients.rotateSecret(id, secret, until);
      await audit.record({
        type: 'client.secret_rotated',
        actor,
        subject: id,
        details: { previous_valid_until: until.toISOString() },
      });
      return { clientSecret: secret.value, previousValidUntil: until.toISOString() };
    },
  };
}

export type ClientService = ReturnType<typeof clientService>;

/** The view without what every write changes (timestamps) or apply compares apart (secrets). */
function comparableView(c: ClientRecord) {
  const { created_at: _c, updated_at: _u, secrets: _s, ...rest } = clientView(c);
  return rest;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A random client id (144 bits, base64url) that starts with a letter or digit: one starting
 * with `-` would read as an option on every command line it is pasted into (`tessera clients
 * show -abc…`).
 */
function newClientId(): string {
  for (;;) {
    const id = randomBytes(18).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}
