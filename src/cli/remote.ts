// The CLI's remote mode: with TESSERA_URL, TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET the
// commands drive a running Tessera's admin API (src/admin/) instead of opening the database,
// with the same commands and the same output: the services of CliServices are implemented here
// over HTTP, returning what the database mode's return. The token comes by client credentials
// (RFC 6749 §4.4) for the admin API. Commands without an admin API operation refuse.
import type { RemoteCliEnv } from '../config/env.ts';
import { InvalidInput, TesseraError } from '../errors.ts';
import type { ApiService } from '../services/apis.ts';
import type { ApiKeyService, ApiKeyView } from '../services/api-keys.ts';
import { ADMIN_AUDIENCE } from '../services/admin-api.ts';
import { type ClientInput, metadataFromInput } from '../services/client-metadata.ts';
import type { ClientView } from '../services/client-view.ts';
import type { DcrService, InitialTokenView } from '../services/dcr.ts';
import type { GrantView, SessionView } from '../services/grants.ts';
import type { KeyView } from '../services/keys.ts';
import type { OrganizationCommands } from '../services/organizations.ts';
import type { RoleView } from '../services/roles.ts';
import type { UserMfaReset, UserMfaView } from '../services/user-mfa.ts';
import type { UserView } from '../services/users.ts';
import type { AuditEventView } from '../services/audit-events.ts';
import { MAX_PAGE } from '../admin/schemas.ts';
import type { WebhookService, WebhookView } from '../services/webhooks.ts';
import type { CliContext, CliServices } from './context.ts';

type ApiRecord = Awaited<ReturnType<ApiService['create']>>;

interface Response<T> {
  body: T;
  etag: string | null;
}

function remoteClient(remote: RemoteCliEnv) {
  let token: string | undefined;

  async function accessToken(): Promise<string> {
    if (token) return token;
    const discovery = await fetch(`${remote.url}/.well-known/openid-configuration`);
    if (!discovery.ok) throw new InvalidInput(`${remote.url} is not a Tessera server (no discovery document)`);
    const { token_endpoint: endpoint } = (await discovery.json()) as { token_endpoint: string };
    // RFC 6749 §2.3.1: the id and secret are form-urlencoded before they are put in Basic.
    const basic = Buffer.from(
      `${encodeURIComponent(remote.clientId)}:${encodeURIComponent(remote.clientSecret)}`,
    ).toString('base64');
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: ADMIN_AUDIENCE }),
    });
    const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
    if (!res.ok || !body.access_token)
      throw new TesseraError(
        `cannot get an admin token with TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET: ${body.error_description ?? body.error ?? res.status}`,
        res.status,
        body.error ?? 'invalid_client',
      );
    token = body.access_token;
    return token;
  }

  async function call<T>(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Response<T>> {
    const res = await fetch(`${remote.url}/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await accessToken()}`,
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    const body = text ? JSON.parse(text) : undefined;
    // A problem (RFC 9457) becomes the error the database mode would have thrown: one line, exit 2.
    if (!res.ok) {
      const p = body as { detail?: string; error?: string } | undefined;
      throw new TesseraError(p?.detail ?? `the admin API answered ${res.status}`, res.status, p?.error ?? 'error');
    }
    return { body: body as T, etag: res.headers.get('etag') };
  }

  async function all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `${path.includes('?') ? '&' : '?'}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const { body } = await call<{ items: T[]; next_cursor: string | null }>('GET', `${path}${query}`);
      items.push(...body.items);
      cursor = body.next_cursor;
    } while (cursor);
    return items;
  }

  return { call, all };
}

const segment = encodeURIComponent;

// The database mode's API record, as far as the commands read it.
const apiRecord = (a: {
  audience: string;
  name: string | null;
  scopes: string[];
  access_token_ttl: number;
  created_at: string;
}) =>
  ({
    audience: a.audience,
    name: a.name,
    scopes: a.scopes,
    accessTokenTtl: a.access_token_ttl,
    createdAt: new Date(a.created_at),
  }) as ApiRecord;

export function remoteServices(remote: RemoteCliEnv): CliServices {
  const { call, all } = remoteClient(remote);
  return {
    apis: {
      create: async (input) =>
        apiRecord(
          (
            await call<Parameters<typeof apiRecord>[0]>('POST', '/apis', {
              body: {
                audience: input.audience,
                name: input.name,
                scopes: input.scope,
                access_token_ttl: input.accessTokenTtl,
              },
            })
          ).body,
        ),
      list: async () => (await all<Parameters<typeof apiRecord>[0]>('/apis')).map(apiRecord),
      delete: async (audience, options = {}) => {
        await call('DELETE', `/apis/${segment(audience)}${options.force ? '?force=true' : ''}`);
      },
    },
    clients: {
      async create(input: ClientInput) {
        const { body } = await call<ClientView & { client_secret?: string }>('POST', '/clients', {
          body: metadataFromInput(input),
        });
        const { client_secret: clientSecret, ...client } = body;
        return { client, clientSecret };
      },
      list: () => all<ClientView>('/clients'),
      show: async (id) => (await call<ClientView>('GET', `/clients/${segment(id)}`)).body,
      // Read, then change that version: a concurrent change by another admin is refused (412).
      async update(id, changes) {
        const { etag } = await call('GET', `/clients/${segment(id)}`);
        return (
          await call<ClientView>('PATCH', `/clients/${segment(id)}`, {
            body: metadataFromInput(changes),
            headers: { 'if-match': etag ?? '' },
          })
        ).body;
      },
      async delete(id) {
        await call('DELETE', `/clients/${segment(id)}`);
      },
      async rotateSecret(id, graceSeconds) {
        const { body } = await call<{ client_secret: string; previous_secret_valid_until: string }>(
          'POST',
          `/clients/${segment(id)}/secrets`,
          { body: { grace_seconds: graceSeconds } },
        );
        return { clientSecret: body.client_secret, previousValidUntil: body.previous_secret_valid_until };
      },
    },
    users: {
      create: async (input) => (await call<UserView>('POST', '/users', { body: userBody(input) })).body,
      // The invitation or link is mailed by the server, in the user's language.
      createAndMail: async (input, mail) =>
        (
          await call<UserView>('POST', '/users', {
            body: { ...userBody(input), ...(mail === 'invitation' ? { invite: true } : { send_verification: true }) },
          })
        ).body,
      markEmailVerified: async (who) =>
        (await call<UserView>('POST', `/users/${segment(who)}/verification`, { body: { mark_verified: true } })).body,
      // DELETE answers 204: the user as it was, read first, is what the command prints.
      async delete(who) {
        const user = (await call<UserView>('GET', `/users/${segment(who)}`)).body;
        await call('DELETE', `/users/${segment(user.id)}`);
        return user;
      },
      list: () => all<UserView>('/users'),
      async update(who, changes) {
        const { etag } = await call('GET', `/users/${segment(who)}`);
        return (
          await call<UserView>('PATCH', `/users/${segment(who)}`, {
            body: changes,
            headers: { 'if-match': etag ?? '' },
          })
        ).body;
      },
      show: async (who) => (await call<UserView>('GET', `/users/${segment(who)}`)).body,
      // The password in the body of one POST, over the TLS of TESSERA_URL; never in a URL or log.
      setPassword: async (who, password) =>
        (await call<UserView>('POST', `/users/${segment(who)}/password`, { body: { password } })).body,
      async setDisabled(who, disabled) {
        const { etag } = await call('GET', `/users/${segment(who)}`);
        return (
          await call<UserView>('PATCH', `/users/${segment(who)}`, {
            body: { disabled },
            headers: { 'if-match': etag ?? '' },
          })
        ).body;
      },
    },
    userMail: {
      async sendVerification(userId) {
        await call('POST', `/users/${segment(userId)}/verification`, { body: {} });
      },
      sendPasswordReset: async (who) =>
        (await call<UserView>('POST', `/users/${segment(who)}/password-reset-link`)).body,
    },
    auditEvents: { list: (filter) => remoteAuditEvents(call, filter) },
    grants: {
      listSessions: async (userId) =>
        (await call<{ items: SessionView[] }>('GET', `/users/${segment(userId)}/sessions`)).body.items,
      list: async (userId) =>
        (await call<{ items: GrantView[] }>('GET', `/users/${segment(userId)}/grants`)).body.items,
      async revoke(grantId, options = {}) {
        await call('DELETE', `/grants/${segment(grantId)}${options.forgetConsent ? '?forget_consent=true' : ''}`);
      },
      // DELETE /users/{user}/sessions answers { revoked, sessions, grants }: the service's counts.
      endAllSessions: async (userId) => {
        const { sessions, grants } = (
          await call<{ sessions: number; grants: number }>('DELETE', `/users/${segment(userId)}/sessions`)
        ).body;
        return { sessions, grants };
      },
    },
    mfa: {
      list: async (who) => (await call<UserMfaView>('GET', `/users/${segment(who)}/mfa`)).body,
      reset: async (who) => (await call<UserMfaReset>('DELETE', `/users/${segment(who)}/mfa`)).body,
    },
    roles: remoteRoles(call, all),
    apiKeys: remoteApiKeys(call, all),
    orgs: remoteOrganizations(call, all),
    webhooks: remoteWebhooks(call),
    dcr: remoteDcr(call),
    keys: {
      list: async () => (await call<{ items: KeyView[] }>('GET', '/keys')).body.items,
      rotate: async () => (await call<Awaited<ReturnType<CliServices['keys']['rotate']>>>('POST', '/keys/rotate')).body,
      retire: async (kid) =>
        (
          await call<{ retired: string; signing_kid: string | null }>('POST', `/keys/${segment(kid)}/retire`, {
            body: { compromised: true },
          })
        ).body,
    },
  };
}

type Client = ReturnType<typeof remoteClient>;

/**
 * Roles over /roles, /users/{user}/roles and /clients/{id}/roles. A revocation or removal
 * answers 204, so the state the database mode prints after it is read back (the role; the roles
 * naming the user or client).
 */
function remoteRoles(call: Client['call'], all: Client['all']): CliServices['roles'] {
  const show = async (name: string) => (await call<RoleView>('GET', `/roles/${segment(name)}`)).body;
  const holding = async (has: (r: RoleView) => boolean) =>
    (await all<RoleView>('/roles'))
      .filter(has)
      .map((r) => r.name)
      .sort();
  return {
    create: async (input) => (await call<RoleView>('POST', '/roles', { body: input })).body,
    list: () => all<RoleView>('/roles'),
    show,
    async delete(name) {
      await call('DELETE', `/roles/${segment(name)}`);
    },
    grantPermission: async (name, permission) =>
      (await call<RoleView>('POST', `/roles/${segment(name)}/permissions`, { body: permission })).body,
    async revokePermission(name, permission) {
      const query = new URLSearchParams({ api: permission.api, scope: permission.scope });
      await call('DELETE', `/roles/${segment(name)}/permissions?${query}`);
      return show(name);
    },
    assignToUser: async (who, role) =>
      (await call<{ user: string; roles: string[] }>('POST', `/users/${segment(who)}/roles`, { body: { role } })).body,
    async removeFromUser(who, role) {
      await call('DELETE', `/users/${segment(who)}/roles/${segment(role)}`);
      const { email } = (await call<UserView>('GET', `/users/${segment(who)}`)).body;
      return { user: email, roles: await holding((r) => r.users.includes(email)) };
    },
    assignToClient: async (id, role) =>
      (await call<{ client: string; roles: string[] }>('POST', `/clients/${segment(id)}/roles`, { body: { role } }))
        .body,
    async removeFromClient(id, role) {
      await call('DELETE', `/clients/${segment(id)}/roles/${segment(role)}`);
      return { client: id, roles: await holding((r) => r.clients.includes(id)) };
    },
  };
}

/** A user's fields as POST /users takes them. */
const userBody = (input: Parameters<CliServices['users']['create']>[0]) => ({
  email: input.email,
  password: input.password,
  name: input.name,
  given_name: input.givenName,
  family_name: input.familyName,
  locale: input.locale,
  email_verified: input.emailVerified,
});

/** The newest `limit` events, page after page of GET /audit-events (at most MAX_PAGE a page). */
async function remoteAuditEvents(
  call: Client['call'],
  filter: Parameters<CliServices['auditEvents']['list']>[0],
): Promise<AuditEventView[]> {
  const events: AuditEventView[] = [];
  let cursor: string | null | undefined;
  do {
    const query = new URLSearchParams({ limit: String(Math.min(MAX_PAGE, filter.limit - events.length)) });
    if (filter.since) query.set('since', filter.since.toISOString());
    if (filter.type) query.set('type', filter.type);
    if (filter.actor) query.set('actor', filter.actor);
    if (filter.subject) query.set('subject', filter.subject);
    if (cursor) query.set('cursor', cursor);
    const { body } = await call<{ items: AuditEventView[]; next_cursor: string | null }>(
      'GET',
      `/audit-events?${query}`,
    );
    events.push(...body.items);
    cursor = body.next_cursor;
  } while (cursor && events.length < filter.limit);
  return events;
}

type Usage = Awaited<ReturnType<ApiKeyService['usage']>>;

/** API keys over /api-keys: the answers are the service's views, the value with them where made. */
function remoteApiKeys(call: Client['call'], all: Client['all']): CliServices['apiKeys'] {
  const withValue = ({ value, ...key }: ApiKeyView & { value: string }) => ({ key: key as ApiKeyView, value });
  return {
    create: async (input) =>
      withValue(
        (
          await call<ApiKeyView & { value: string }>('POST', '/api-keys', {
            body: {
              name: input.name,
              api: input.audience,
              scope: input.scope,
              client_id: input.clientId,
              user: input.userEmail,
              expires_in: input.expiresIn,
              quota: input.quota && { per_minute: input.quota.perMinute, per_day: input.quota.perDay },
            },
          })
        ).body,
      ),
    list: (audience) => all<ApiKeyView>(`/api-keys${audience ? `?api=${segment(audience)}` : ''}`),
    show: async (id) => (await call<ApiKeyView>('GET', `/api-keys/${segment(id)}`)).body,
    revoke: async (id) => (await call<ApiKeyView>('POST', `/api-keys/${segment(id)}/revoke`)).body,
    rotate: async (id, graceSeconds) =>
      withValue(
        (
          await call<ApiKeyView & { value: string }>('POST', `/api-keys/${segment(id)}/rotate`, {
            body: { grace_seconds: graceSeconds },
          })
        ).body,
      ),
    usage: async (id, since) =>
      (await call<Usage>('GET', `/api-keys/${segment(id)}/usage?since=${segment(since.toISOString())}`)).body,
  };
}

type Answer<K extends keyof OrganizationCommands> = Awaited<ReturnType<OrganizationCommands[K]>>;

/** Organizations over /organizations: the API answers with the views the commands print. */
function remoteOrganizations(call: Client['call'], all: Client['all']): OrganizationCommands {
  const at = (ref: string) => `/organizations/${segment(ref)}`;
  const member = (ref: string, user: string) => `${at(ref)}/members/${segment(user)}`;
  const settings = (input: Parameters<OrganizationCommands['update']>[1]) => ({
    display_name: input.displayName,
    allowed_email_domains: input.allowedEmailDomains,
    mfa_required: input.mfaRequired,
  });
  return {
    create: async (input) =>
      (await call<Answer<'create'>>('POST', '/organizations', { body: { name: input.name, ...settings(input) } })).body,
    // Read, then change that version: a concurrent change by another admin is refused (412).
    async update(ref, changes) {
      const { etag } = await call('GET', at(ref));
      return (
        await call<Answer<'update'>>('PATCH', at(ref), { body: settings(changes), headers: { 'if-match': etag ?? '' } })
      ).body;
    },
    list: () => all<Answer<'list'>[number]>('/organizations'),
    show: async (ref) => (await call<Answer<'show'>>('GET', at(ref))).body,
    async delete(ref) {
      await call('DELETE', at(ref));
    },
    addMember: async (ref, user) =>
      (await call<{ added: boolean }>('POST', `${at(ref)}/members`, { body: { user } })).body.added,
    async removeMember(ref, user) {
      await call('DELETE', member(ref, user));
    },
    assignRole: async (ref, user, role) =>
      (await call<{ assigned: boolean }>('POST', `${member(ref, user)}/roles`, { body: { role } })).body.assigned,
    async removeRole(ref, user, role) {
      await call('DELETE', `${member(ref, user)}/roles/${segment(role)}`);
    },
    async createRole(ref, input) {
      await call('POST', `${at(ref)}/roles`, {
        body: {
          name: input.name,
          description: input.description,
          permissions: input.permissions.map((p) => ({ api: p.audience, scope: p.scope })),
        },
      });
    },
    async deleteRole(ref, name) {
      await call('DELETE', `${at(ref)}/roles/${segment(name)}`);
    },
  };
}

type WebhookAnswer<K extends keyof WebhookService> = Awaited<ReturnType<WebhookService[K]>>;

/** Webhooks over /webhooks and /webhook-deliveries: the answers are the service's. */
function remoteWebhooks(call: Client['call']): WebhookService {
  const at = (id: string) => `/webhooks/${segment(id)}`;
  return {
    create: async (input) =>
      (
        await call<WebhookAnswer<'create'>>('POST', '/webhooks', {
          body: { url: input.url, events: input.events, description: input.description },
        })
      ).body,
    list: async () => (await call<{ items: WebhookView[] }>('GET', '/webhooks')).body.items,
    show: async (id) => (await call<WebhookView>('GET', at(id))).body,
    async remove(id) {
      await call('DELETE', at(id));
    },
    rotateSecret: async (id, overlapSeconds) =>
      (
        await call<WebhookAnswer<'rotateSecret'>>('POST', `${at(id)}/secrets`, {
          body: { overlap_seconds: overlapSeconds },
        })
      ).body,
    async deliveries(options) {
      const query = new URLSearchParams({ limit: String(options.limit) });
      if (options.webhookId) query.set('webhook', options.webhookId);
      if (options.status) query.set('status', options.status);
      return (await call<{ items: WebhookAnswer<'deliveries'> }>('GET', `/webhook-deliveries?${query}`)).body.items;
    },
    async redeliver(id) {
      await call('POST', `/webhook-deliveries/${segment(id)}/redeliver`);
    },
  };
}

/** Dynamic client registration's admin side over /dcr/initial-tokens and /clients/{id}/approval. */
function remoteDcr(call: Client['call']): DcrService {
  return {
    createToken: async (input) =>
      (
        await call<Awaited<ReturnType<DcrService['createToken']>>>('POST', '/dcr/initial-tokens', {
          body: { max_uses: input.maxUses, expires_in: input.expiresIn, description: input.description },
        })
      ).body,
    listTokens: async () => (await call<{ items: InitialTokenView[] }>('GET', '/dcr/initial-tokens')).body.items,
    async revokeToken(id) {
      await call('DELETE', `/dcr/initial-tokens/${segment(id)}`);
    },
    async approve(clientId) {
      await call('POST', `/clients/${segment(clientId)}/approval`);
    },
  };
}

/**
 * The context the commands run on in remote mode: the services over the admin API; what only
 * the database has refuses when a command reaches for it.
 */
export function remoteContext(remote: RemoteCliEnv): CliContext {
  const databaseOnly = (): never => {
    throw new InvalidInput('this command works on the database only; unset TESSERA_URL to run it there');
  };
  // A service method the admin API does not offer (users set-password, ...) refuses the same way.
  const onlyThese = <T extends object>(service: T): T =>
    new Proxy(service, { get: (target, name) => (name in target ? target[name as keyof T] : databaseOnly) });
  const services = remoteServices(remote);
  const context = {
    apis: onlyThese(services.apis),
    clients: onlyThese(services.clients),
    users: onlyThese(services.users),
    userMail: onlyThese(services.userMail),
    auditEvents: onlyThese(services.auditEvents),
    keys: onlyThese(services.keys),
    grants: onlyThese(services.grants),
    mfa: onlyThese(services.mfa),
    roles: onlyThese(services.roles),
    apiKeys: onlyThese(services.apiKeys),
    orgs: onlyThese(services.orgs),
    webhooks: onlyThese(services.webhooks),
    dcr: onlyThese(services.dcr),
    actor: `remote:${remote.clientId}`,
  };
  for (const name of ['config', 'db', 'queries', 'audit'] as const)
    Object.defineProperty(context, name, { get: databaseOnly, enumerable: false });
  // Only CliServices' methods are called on the services (cli/context.ts): the rest refuse above.
  return context as unknown as CliContext;
}
