// The admin console (/admin): server-rendered pages over the admin API's operations, called
// in-process with the signed-in admin's own access token (admin-api.ts `call`): the same token
// check, scope check, schemas, handlers and `admin.call` audit record as over HTTP, so that the
// console implements no operation of its own and can do nothing its admin's token could not.
// Plain forms, no script; a CSRF token bound to the console session on every POST; each POST
// that changes something redirects (303) with a fixed message key, except those that show a new
// secret once, which answer with the page itself so that the secret is in no URL or history.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { AdminCall } from '../admin/admin-api.ts';
import { AdminProblem } from '../admin/problem.ts';
import { TesseraError } from '../errors.ts';
import { AUDIT_EVENT_TYPES } from '../services/audit.ts';
import { readForm } from '../interactions/form-body.ts';
import { CONSOLE_CALLBACK_PATH, CONSOLE_PATH } from '../oidc/admin-console-client.ts';
import { sendPage } from '../views/page.ts';
import { type Brand, renderView } from '../views/render.ts';
import { type ConsoleSession, consoleAdmin } from './console-session.ts';

export interface ConsoleDeps {
  session: ConsoleSession;
  call: AdminCall;
  brand: Brand;
}

// A page of the lists: enough to scan, few enough to read.
const PAGE_SIZE = '25';
// The audit events a client's page shows: the latest few; the rest is a search away.
const RECENT_EVENTS = '10';

// What a redirect after a form may say: by key, so that the URL carries no text of its own.
const DONE: Record<string, string> = {
  session: 'The session was ended.',
  sessions: "Every one of the user's sessions was ended.",
  grant: 'The grant was revoked: its refresh tokens no longer work, its access tokens introspect inactive.',
  rotated: 'A new signing key was published: it signs once the publication delay has passed.',
  retired: 'The key was retired: it left the JWKS, and the tokens it signed no longer verify.',
  'api-deleted': 'The API was deleted.',
  'role-deleted': 'The role was deleted.',
  'permission-granted': 'The permission was granted.',
  'permission-revoked': 'The permission was revoked.',
  'role-assigned': 'The role was given to the user: their next token carries its permissions.',
  'role-removed': 'The role was taken from the user.',
  'member-added': 'The user is a member now.',
  'member-removed': 'The member was removed, with their roles in the organization.',
  'org-deleted': 'The organization was deleted.',
  'key-revoked': 'The API key was revoked: introspection answers active: false for it from now on.',
};

/** The message of a redirect after a form (`?done=key`), if the key is one of ours. */
const doneOf = (ctx: Context) => (typeof ctx.query.done === 'string' ? DONE[ctx.query.done] : undefined);

// Plain, short ids: a client id (printable ASCII), a user's uuid or address, a session uid.
const PARAM = /^[\x21-\x7e]{1,255}$/;

/** A time as "2026-12-04 13:16 UTC": the same for every reader. */
const when = (iso: string | null | undefined) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : undefined);

/** How old something is, in the largest whole unit: "3 days", "5 minutes". */
export function ageOf(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  const units: [number, string][] = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'}`;
  }
  return 'less than a minute';
}

/** An admin API error as a person reads it, or undefined for anything else (a bug: it propagates). */
function refusal(err: unknown): { status: number; code: string; message: string } | undefined {
  if (err instanceof AdminProblem || err instanceof TesseraError)
    return { status: err.status, code: err.code, message: err.message };
  return undefined;
}

export function consoleRoutes(deps: ConsoleDeps): Router {
  const router = new Router({ prefix: CONSOLE_PATH });
  const { session, brand } = deps;

  function page(ctx: Context, view: string, data: Record<string, unknown>, status = 200) {
    const admin = consoleAdmin(ctx);
    sendPage(ctx, renderView(`admin/${view}`, brand, { ...data, csrf: admin.csrf, adminSub: admin.sub }), status);
  }

  /** The admin API's operation, as the signed-in admin. */
  async function call(
    ctx: Context,
    operationId: string,
    input: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {},
  ) {
    return (await deps.call(operationId, consoleAdmin(ctx).token, ctx, input)).body as never;
  }

  /**
   * Runs a page's handler; a refusal of the API becomes a page: 403 (a right the admin lacks),
   * 404 (no such thing), or the refusal's own sentence; a 401 (the token no longer good) ends
   * the console session.
   */
  const guarded = (handler: (ctx: Context) => Promise<void>) => async (ctx: Context) => {
    try {
      await handler(ctx);
    } catch (err) {
      const refused = refusal(err);
      if (!refused) throw err;
      if (refused.status === 401) {
        // The token died before its time (the admin was disabled, their session or the token
        // revoked): this console session is over; a GET signs in again, if the person still may.
        await session.restart(ctx, ctx.method === 'GET' ? ctx.path : CONSOLE_PATH);
        return;
      }
      if (refused.status === 403 && refused.code === 'insufficient_scope') {
        sendPage(ctx, renderView('admin/forbidden', brand, { message: refused.message }), 403);
        return;
      }
      page(ctx, 'refused', { status: refused.status, message: refused.message }, refused.status);
    }
  };

  /** A form's fields, after its CSRF check (403 without a valid token). */
  async function form(ctx: Context): Promise<URLSearchParams> {
    const body = await readForm(ctx);
    session.checkCsrf(ctx, body.get('csrf'));
    return body;
  }

  const param = (ctx: Context, name: string): string => {
    const value = ctx.params[name] ?? '';
    if (!PARAM.test(value)) throw new AdminProblem(404, 'not_found', 'there is no such page');
    return value;
  };

  /** A list's query: the search (`q`) and the page (`cursor`), only when given. */
  const listQuery = (ctx: Context): Record<string, string> => {
    const q = typeof ctx.query.q === 'string' ? ctx.query.q.trim() : '';
    const cursor = typeof ctx.query.cursor === 'string' ? ctx.query.cursor : '';
    return { limit: PAGE_SIZE, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) };
  };

  /** The page (`cursor`) of a list that has no search. */
  const cursorQuery = (ctx: Context): Record<string, string> => {
    const cursor = typeof ctx.query.cursor === 'string' ? ctx.query.cursor : '';
    return { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) };
  };

  /** A form that changes something for good asks for a ticked box (no script): 400 without it. */
  const confirmed = (fields: URLSearchParams) => {
    if (fields.get('confirm') !== 'yes')
      throw new AdminProblem(400, 'invalid_request', 'nothing was done: tick the box to confirm, then try again');
  };

  /** After a form: back to a page (303), with a message by its key. */
  const redirectDone = (ctx: Context, path: string, done: keyof typeof DONE) => {
    ctx.status = 303;
    ctx.redirect(`${CONSOLE_PATH}${path}?done=${done}`);
  };

  // The callback comes before `required`: it is how a console session begins.
  router.get(CONSOLE_CALLBACK_PATH.slice(CONSOLE_PATH.length), async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const finished =
      typeof ctx.query.error === 'string' ? { outcome: 'failed' as const } : await session.finishSignIn(ctx);
    if (finished.outcome === 'signed-in') {
      ctx.status = 303;
      ctx.redirect(finished.returnTo);
    } else if (finished.outcome === 'no-rights') {
      sendPage(ctx, renderView('admin/forbidden', brand, { message: 'Your account has no admin rights.' }), 403);
    } else {
      sendPage(
        ctx,
        renderView('notice', brand, {
          heading: 'You are not signed in',
          message: 'Signing in to the admin console did not finish.',
          linkHref: CONSOLE_PATH,
          linkText: 'Try again',
        }),
        400,
      );
    }
  });

  router.use(session.required);

  router.get('/', (ctx) => page(ctx, 'home', { scopes: consoleAdmin(ctx).scopes }));

  router.post('/sign-out', async (ctx) => {
    await form(ctx);
    await session.signOut(ctx);
    sendPage(
      ctx,
      renderView('notice', brand, {
        heading: 'Signed out of the console',
        message: 'The console no longer holds a token for you. Your Tessera session is unchanged.',
        linkHref: '/session/end',
        linkText: 'Sign out of Tessera too',
      }),
    );
  });

  // ---- Clients ----

  router.get(
    '/clients',
    guarded(async (ctx) => {
      const query = listQuery(ctx);
      const list = await call(ctx, 'listClients', { query });
      page(ctx, 'clients', { list, q: query.q ?? '' });
    }),
  );

  router.get('/clients/new', (ctx) => page(ctx, 'client-new', { values: {} }));

  router.post(
    '/clients',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const values = Object.fromEntries(
        ['name', 'kind', 'redirect_uris', 'apis', 'scope'].map((k) => [k, fields.get(k)?.trim() ?? '']),
      );
      const lines = (text: string) => text.split(/\s+/).filter(Boolean);
      const machine = values.kind === 'machine';
      const body = {
        name: values.name,
        grant_types: machine ? ['client_credentials'] : ['authorization_code', 'refresh_token'],
        ...(machine ? {} : { redirect_uris: lines(values.redirect_uris!) }),
        ...(values.kind === 'public' ? { public: true } : {}),
        ...(values.apis ? { apis: lines(values.apis) } : {}),
        ...(values.scope ? { scope: values.scope } : {}),
      };
      try {
        const created = await call(ctx, 'createClient', { body });
        page(ctx, 'client-created', { client: created }, 201);
      } catch (err) {
        const refused = refusal(err);
        if (refused?.status !== 400) throw err;
        page(ctx, 'client-new', { values, error: refused.message }, 400);
      }
    }),
  );

  /** A client's page: settings, secrets with their ages, API grants, recent audit events. */
  async function showClient(ctx: Context, extra: Record<string, unknown> = {}, status = 200) {
    const clientId = param(ctx, 'id');
    const client = (await call(ctx, 'getClient', { params: { client_id: clientId } })) as {
      secrets: { hint: string; created_at: string; expires_at: string | null }[];
    };
    // The trail is a right of its own (admin:audit:read): without it the page says so.
    let events: unknown[] | undefined;
    if (consoleAdmin(ctx).scopes.includes('admin:audit:read')) {
      const trail = (await call(ctx, 'listAuditEvents', {
        query: { subject: clientId, limit: RECENT_EVENTS },
      })) as { items: { time: string }[] };
      events = trail.items.map((e) => ({ ...e, time: when(e.time) }));
    }
    // Its grants are a right of their own too (admin:grants:read); a page of them, newest first.
    let grants: unknown;
    if (consoleAdmin(ctx).scopes.includes('admin:grants:read')) {
      const cursor = typeof ctx.query.grants === 'string' ? ctx.query.grants : '';
      const list = (await call(ctx, 'listClientGrants', {
        params: { client_id: clientId },
        query: { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) },
      })) as { items: { granted_at: string | null }[]; next_cursor: string | null };
      grants = { ...list, items: list.items.map((g) => ({ ...g, granted: when(g.granted_at) })) };
    }
    const done = doneOf(ctx);
    page(
      ctx,
      'client',
      {
        client,
        grants,
        done,
        secrets: client.secrets.map((s) => ({
          hint: s.hint,
          age: ageOf(s.created_at),
          created: when(s.created_at),
          expires: when(s.expires_at),
        })),
        events,
        ...extra,
      },
      status,
    );
  }

  router.get(
    '/clients/:id',
    guarded((ctx) => showClient(ctx)),
  );

  router.post(
    '/clients/:id/secrets',
    guarded(async (ctx) => {
      await form(ctx);
      const rotated = await call(ctx, 'rotateClientSecret', { params: { client_id: param(ctx, 'id') }, body: {} });
      await showClient(ctx, { rotated }, 201);
    }),
  );

  router.post(
    '/clients/:id/grants/revoke',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const clientId = param(ctx, 'id');
      // Any grant the admin's token may revoke (the API's own check and audit record): the form
      // names one of this client's, and the page it returns to shows that it is gone.
      const grant = fields.get('grant') ?? '';
      if (!PARAM.test(grant)) throw new AdminProblem(400, 'invalid_request', 'there is no such grant');
      await call(ctx, 'revokeGrant', {
        params: { grant_id: grant },
        query: fields.get('forget_consent') === 'true' ? { forget_consent: 'true' } : {},
      });
      ctx.status = 303;
      ctx.redirect(`${CONSOLE_PATH}/clients/${encodeURIComponent(clientId)}?done=grant`);
    }),
  );

  // ---- Users ----

  router.get(
    '/users',
    guarded(async (ctx) => {
      const query = listQuery(ctx);
      const list = await call(ctx, 'listUsers', { query });
      page(ctx, 'users', { list, q: query.q ?? '' });
    }),
  );

  router.get(
    '/users/:id',
    guarded(async (ctx) => {
      const params = { user: param(ctx, 'id') };
      const user = (await call(ctx, 'getUser', { params })) as { id: string; last_login_at: string | null };
      const [sessions, grants, security] = await Promise.all([
        call(ctx, 'listUserSessions', { params }) as Promise<{ items: { login_at?: string | null }[] }>,
        call(ctx, 'listUserGrants', { params }),
        call(ctx, 'getUserSecurity', { params }),
      ]);
      const done = doneOf(ctx);
      const { scopes } = consoleAdmin(ctx);
      // The roles there are, to pick one from (a first page of them: the field takes any name).
      const roles =
        scopes.includes('admin:roles:write') && scopes.includes('admin:roles:read')
          ? ((await call(ctx, 'listRoles', { query: { limit: '200' } })) as { items: { name: string }[] }).items.map(
              (r) => r.name,
            )
          : undefined;
      page(ctx, 'user', {
        user,
        lastLogin: when(user.last_login_at),
        sessions,
        grants,
        security,
        done,
        when,
        roles,
        mayAssign: scopes.includes('admin:roles:write'),
      });
    }),
  );

  router.post(
    '/users/:id/sessions/end',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const userId = param(ctx, 'id');
      const uid = fields.get('session') ?? '';
      // Only a session of this user: the uid comes from the user's own page.
      const sessions = (await call(ctx, 'listUserSessions', { params: { user: userId } })) as {
        items: { session_uid: string }[];
      };
      if (!sessions.items.some((s) => s.session_uid === uid))
        throw new AdminProblem(400, 'invalid_request', 'there is no such session');
      await call(ctx, 'revokeSession', { params: { session_uid: uid } });
      ctx.status = 303;
      ctx.redirect(`${CONSOLE_PATH}/users/${encodeURIComponent(userId)}?done=session`);
    }),
  );

  router.post(
    '/users/:id/sessions/end-all',
    guarded(async (ctx) => {
      await form(ctx);
      const userId = param(ctx, 'id');
      const sessions = (await call(ctx, 'listUserSessions', { params: { user: userId } })) as {
        items: { session_uid: string }[];
      };
      for (const s of sessions.items) await call(ctx, 'revokeSession', { params: { session_uid: s.session_uid } });
      ctx.status = 303;
      ctx.redirect(`${CONSOLE_PATH}/users/${encodeURIComponent(userId)}?done=sessions`);
    }),
  );

  // ---- Users' roles ----

  router.post(
    '/users/:id/roles',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const userId = param(ctx, 'id');
      await call(ctx, 'assignUserRole', { params: { user: userId }, body: { role: fields.get('role')?.trim() ?? '' } });
      redirectDone(ctx, `/users/${encodeURIComponent(userId)}`, 'role-assigned');
    }),
  );

  router.post(
    '/users/:id/roles/remove',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const userId = param(ctx, 'id');
      const role = fields.get('role') ?? '';
      if (!PARAM.test(role)) throw new AdminProblem(400, 'invalid_request', 'there is no such role');
      await call(ctx, 'removeUserRole', { params: { user: userId, role } });
      redirectDone(ctx, `/users/${encodeURIComponent(userId)}`, 'role-removed');
    }),
  );

  // ---- Signing keys ----

  router.get(
    '/keys',
    guarded(async (ctx) => {
      const list = (await call(ctx, 'listKeys')) as {
        items: { created_at: string; activates_at: string; retires_at: string; unpublish_at: string }[];
      };
      const keys = list.items.map((k) => ({
        ...k,
        created: when(k.created_at),
        activates: when(k.activates_at),
        retires: when(k.retires_at),
        unpublish: when(k.unpublish_at),
      }));
      page(ctx, 'keys', { keys, done: doneOf(ctx) });
    }),
  );

  router.post(
    '/keys/rotate',
    guarded(async (ctx) => {
      confirmed(await form(ctx));
      await call(ctx, 'rotateKeys');
      redirectDone(ctx, '/keys', 'rotated');
    }),
  );

  // Retiring is an emergency with a cost (every token the key signed stops verifying): a page of
  // its own says so before the form that does it.
  router.get(
    '/keys/:kid/retire',
    guarded(async (ctx) => {
      const kid = param(ctx, 'kid');
      const list = (await call(ctx, 'listKeys')) as { items: { kid: string }[] };
      const key = list.items.find((k) => k.kid === kid);
      if (!key) throw new AdminProblem(404, 'not_found', `no signing key has kid ${kid}`);
      page(ctx, 'key-retire', { key });
    }),
  );

  router.post(
    '/keys/:kid/retire',
    guarded(async (ctx) => {
      confirmed(await form(ctx));
      await call(ctx, 'retireKey', { params: { kid: param(ctx, 'kid') }, body: { compromised: true } });
      redirectDone(ctx, '/keys', 'retired');
    }),
  );

  // ---- APIs ----

  router.get(
    '/apis',
    guarded(async (ctx) => {
      const list = await call(ctx, 'listApis', { query: cursorQuery(ctx) });
      page(ctx, 'apis', { list, done: doneOf(ctx) });
    }),
  );

  router.get('/apis/new', (ctx) => page(ctx, 'api-new', { values: {} }));

  router.post(
    '/apis',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const values = Object.fromEntries(
        ['audience', 'name', 'scopes', 'rbac'].map((k) => [k, fields.get(k)?.trim() ?? '']),
      );
      const body = {
        audience: values.audience,
        ...(values.name ? { name: values.name } : {}),
        ...(values.scopes ? { scopes: values.scopes } : {}),
        ...(values.rbac ? { rbac: values.rbac } : {}),
        ...(fields.getAll('token_claims').length ? { token_claims: fields.getAll('token_claims') } : {}),
      };
      try {
        const created = (await call(ctx, 'createApi', { body })) as { audience: string };
        ctx.status = 303;
        ctx.redirect(`${CONSOLE_PATH}/apis/${encodeURIComponent(created.audience)}`);
      } catch (err) {
        const refused = refusal(err);
        if (refused?.status !== 400 && refused?.status !== 409) throw err;
        page(ctx, 'api-new', { values, error: refused.message }, refused.status);
      }
    }),
  );

  router.get(
    '/apis/:audience',
    guarded(async (ctx) => {
      const api = (await call(ctx, 'getApi', { params: { audience: param(ctx, 'audience') } })) as {
        created_at: string;
      };
      page(ctx, 'api', { api, created: when(api.created_at) });
    }),
  );

  router.post(
    '/apis/:audience/delete',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      confirmed(fields);
      await call(ctx, 'deleteApi', {
        params: { audience: param(ctx, 'audience') },
        query: fields.get('force') === 'true' ? { force: 'true' } : {},
      });
      redirectDone(ctx, '/apis', 'api-deleted');
    }),
  );

  // ---- Roles ----

  router.get(
    '/roles',
    guarded(async (ctx) => {
      const list = await call(ctx, 'listRoles', { query: cursorQuery(ctx) });
      page(ctx, 'roles', { list, values: {}, done: doneOf(ctx) });
    }),
  );

  router.post(
    '/roles',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const values = Object.fromEntries(['name', 'description'].map((k) => [k, fields.get(k)?.trim() ?? '']));
      const body = { name: values.name, ...(values.description ? { description: values.description } : {}) };
      try {
        const created = (await call(ctx, 'createRole', { body })) as { name: string };
        ctx.status = 303;
        ctx.redirect(`${CONSOLE_PATH}/roles/${encodeURIComponent(created.name)}`);
      } catch (err) {
        const refused = refusal(err);
        if (refused?.status !== 400 && refused?.status !== 409) throw err;
        const list = await call(ctx, 'listRoles', { query: cursorQuery(ctx) });
        page(ctx, 'roles', { list, values, error: refused.message }, refused.status);
      }
    }),
  );

  router.get(
    '/roles/:role',
    guarded(async (ctx) => {
      const role = (await call(ctx, 'getRole', { params: { role: param(ctx, 'role') } })) as { created_at: string };
      page(ctx, 'role', { role, created: when(role.created_at), done: doneOf(ctx) });
    }),
  );

  const permissionOf = (fields: URLSearchParams) => ({
    api: fields.get('api')?.trim() ?? '',
    scope: fields.get('scope')?.trim() ?? '',
  });

  router.post(
    '/roles/:role/permissions',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const role = param(ctx, 'role');
      await call(ctx, 'grantRolePermission', { params: { role }, body: permissionOf(fields) });
      redirectDone(ctx, `/roles/${encodeURIComponent(role)}`, 'permission-granted');
    }),
  );

  router.post(
    '/roles/:role/permissions/revoke',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const role = param(ctx, 'role');
      await call(ctx, 'revokeRolePermission', { params: { role }, query: permissionOf(fields) });
      redirectDone(ctx, `/roles/${encodeURIComponent(role)}`, 'permission-revoked');
    }),
  );

  router.post(
    '/roles/:role/delete',
    guarded(async (ctx) => {
      confirmed(await form(ctx));
      await call(ctx, 'deleteRole', { params: { role: param(ctx, 'role') } });
      redirectDone(ctx, '/roles', 'role-deleted');
    }),
  );

  // ---- The audit trail ----

  router.get(
    '/audit',
    guarded(async (ctx) => {
      // The filters as given (trimmed, empty ones left out): the API checks them (a type it does
      // not know, a filter too long) and its refusal is the page.
      const filters = Object.fromEntries(
        ['type', 'actor', 'subject']
          .map((k) => [k, typeof ctx.query[k] === 'string' ? (ctx.query[k] as string).trim() : ''])
          .filter(([, v]) => v),
      ) as Record<string, string>;
      const list = (await call(ctx, 'listAuditEvents', { query: { ...filters, ...cursorQuery(ctx) } })) as {
        items: { time: string; details: unknown }[];
        next_cursor: string | null;
      };
      const events = list.items.map((e) => ({
        ...e,
        time: when(e.time),
        details: e.details === null || e.details === undefined ? '' : JSON.stringify(e.details),
      }));
      page(ctx, 'audit', { events, next: list.next_cursor, filters, types: AUDIT_EVENT_TYPES });
    }),
  );

  // ---- Organizations ----

  router.get(
    '/organizations',
    guarded(async (ctx) => {
      const list = await call(ctx, 'listOrganizations', { query: cursorQuery(ctx) });
      page(ctx, 'organizations', { list, values: {}, done: doneOf(ctx) });
    }),
  );

  router.post(
    '/organizations',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const values = Object.fromEntries(
        ['name', 'display_name', 'allowed_email_domains'].map((k) => [k, fields.get(k)?.trim() ?? '']),
      );
      const domains = values.allowed_email_domains!.split(/[\s,]+/).filter(Boolean);
      const body = {
        name: values.name,
        ...(values.display_name ? { display_name: values.display_name } : {}),
        ...(domains.length ? { allowed_email_domains: domains } : {}),
        ...(fields.get('mfa_required') === 'true' ? { mfa_required: true } : {}),
      };
      try {
        const created = (await call(ctx, 'createOrganization', { body })) as { id: string };
        ctx.status = 303;
        ctx.redirect(`${CONSOLE_PATH}/organizations/${encodeURIComponent(created.id)}`);
      } catch (err) {
        const refused = refusal(err);
        if (refused?.status !== 400 && refused?.status !== 409) throw err;
        const list = await call(ctx, 'listOrganizations', { query: cursorQuery(ctx) });
        page(ctx, 'organizations', { list, values, error: refused.message }, refused.status);
      }
    }),
  );

  router.get(
    '/organizations/:org',
    guarded(async (ctx) => {
      const org = (await call(ctx, 'getOrganization', { params: { org: param(ctx, 'org') } })) as {
        members: { since: string }[];
      };
      const members = org.members.map((m) => ({ ...m, since: when(m.since) }));
      page(ctx, 'organization', { org, members, done: doneOf(ctx) });
    }),
  );

  router.post(
    '/organizations/:org/members',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const org = param(ctx, 'org');
      await call(ctx, 'addOrganizationMember', { params: { org }, body: { user: fields.get('user')?.trim() ?? '' } });
      redirectDone(ctx, `/organizations/${encodeURIComponent(org)}`, 'member-added');
    }),
  );

  router.post(
    '/organizations/:org/members/remove',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const org = param(ctx, 'org');
      const user = fields.get('user') ?? '';
      if (!PARAM.test(user)) throw new AdminProblem(400, 'invalid_request', 'there is no such member');
      await call(ctx, 'removeOrganizationMember', { params: { org, user } });
      redirectDone(ctx, `/organizations/${encodeURIComponent(org)}`, 'member-removed');
    }),
  );

  router.post(
    '/organizations/:org/delete',
    guarded(async (ctx) => {
      confirmed(await form(ctx));
      await call(ctx, 'deleteOrganization', { params: { org: param(ctx, 'org') } });
      redirectDone(ctx, '/organizations', 'org-deleted');
    }),
  );

  // ---- API keys ----

  router.get(
    '/api-keys',
    guarded(async (ctx) => {
      const list = await call(ctx, 'listApiKeys', { query: cursorQuery(ctx) });
      page(ctx, 'api-keys', { list, done: doneOf(ctx) });
    }),
  );

  router.get('/api-keys/new', (ctx) => page(ctx, 'api-key-new', { values: {} }));

  /** An API key's page; `value`: a new key, shown this once (the answer to the POST that made it). */
  async function showApiKey(ctx: Context, id: string, extra: Record<string, unknown> = {}, status = 200) {
    const key = (await call(ctx, 'getApiKey', { params: { key_id: id } })) as Record<string, string | null>;
    const times = Object.fromEntries(
      ['created_at', 'expires_at', 'revoked_at', 'previous_valid_until', 'last_used_at'].map((k) => [k, when(key[k])]),
    );
    page(ctx, 'api-key', { key, times, done: doneOf(ctx), ...extra }, status);
  }

  router.post(
    '/api-keys',
    guarded(async (ctx) => {
      const fields = await form(ctx);
      const values = Object.fromEntries(
        ['name', 'api', 'scope', 'client_id', 'user'].map((k) => [k, fields.get(k)?.trim() ?? '']),
      );
      const body = {
        name: values.name,
        api: values.api,
        ...(values.scope ? { scope: values.scope } : {}),
        ...(values.client_id ? { client_id: values.client_id } : {}),
        ...(values.user ? { user: values.user } : {}),
      };
      let created: { id: string; value: string };
      try {
        created = (await call(ctx, 'createApiKey', { body })) as { id: string; value: string };
      } catch (err) {
        const refused = refusal(err);
        if (refused?.status !== 400 && refused?.status !== 404 && refused?.status !== 409) throw err;
        page(ctx, 'api-key-new', { values, error: refused.message }, 400);
        return;
      }
      await showApiKey(ctx, created.id, { value: created.value }, 201);
    }),
  );

  router.get(
    '/api-keys/:id',
    guarded((ctx) => showApiKey(ctx, param(ctx, 'id'))),
  );

  router.post(
    '/api-keys/:id/rotate',
    guarded(async (ctx) => {
      await form(ctx);
      const id = param(ctx, 'id');
      // An hour: long enough for the key's holder to deploy the new value, short enough that a
      // leaked old one soon dies. The API's own default (0) is for a key that leaked.
      const rotated = (await call(ctx, 'rotateApiKey', { params: { key_id: id }, body: { grace_seconds: 3600 } })) as {
        value: string;
      };
      await showApiKey(ctx, id, { value: rotated.value }, 201);
    }),
  );

  router.post(
    '/api-keys/:id/revoke',
    guarded(async (ctx) => {
      confirmed(await form(ctx));
      const id = param(ctx, 'id');
      await call(ctx, 'revokeApiKey', { params: { key_id: id } });
      redirectDone(ctx, `/api-keys/${encodeURIComponent(id)}`, 'key-revoked');
    }),
  );

  return router;
}
