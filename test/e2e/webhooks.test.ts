// Signed webhooks (issue 19): an admin subscribes a receiving app to audit event types; each
// event is POSTed with a JSON body signed over `timestamp.body` (Tessera-Signature), from the
// PostgreSQL outbox, retried with backoff, delivered once across replicas, logged, redeliverable.
// The receiver here is a real HTTP server that verifies with the kit's verifyWebhook.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidWebhookSignature, verifyWebhook, type WebhookEvent } from '../../src/resource-server/index.ts';
import { createApi, createClient, createUser, ownAddress } from '../hardening/support.ts';
import { type AdminClient, CLI_MODES, cliIn, createAdminClient } from '../setup/admin.ts';
import { eventually } from '../setup/eventually.ts';
import { authorize, newJar } from '../setup/sign-in.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { type Receiver, startReceiver } from '../setup/webhook-receiver.ts';

const REDIRECT = 'https://app.example.test/callback';
const GRACE_MS = 1_000;
// The outbox's first retry comes 10 s (±20 %) after a failure (outbox/worker.ts): the test moves
// Tessera's clock past it instead of waiting.
const PAST_FIRST_BACKOFF_MS = 13_000;
const options = { [oauth.allowInsecureRequests]: true };
// Wrong passwords an account takes from one address before it is locked out.
const LOGIN_FAILURES = 3;
// Deliveries come from the outbox worker's poll (a second) on a loaded machine.
const SLOW = { timeoutMs: 30_000, intervalMs: 200 };
let server: TestServer;
let receiver: Receiver;
let clockOffset = 0;
let hook: { id: string; secret: string };

// The CLI on the server's issuer: webhooks and their outbox rows belong to one issuer.
const cli = (args: string[]) => tesseraJson(args, { ISSUER: server.issuer, DEV_ALLOW_PRIVATE_WEBHOOK_URLS: 'true' });

beforeAll(async () => {
  server = await startTestServer(
    {
      DEV_ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
      REFRESH_TOKEN_REUSE_GRACE: String(GRACE_MS / 1000),
      // The catalog's test locks an account out from an address of its own (X-Forwarded-For).
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_LOGIN_FAILURES: String(LOGIN_FAILURES),
    },
    { clock: () => Date.now() + clockOffset },
  );
  receiver = await startReceiver();
  hook = (await cli([
    'webhooks',
    'create',
    '--url',
    receiver.url,
    '--events',
    'refresh_token.reuse_detected,user.created',
  ])) as unknown as typeof hook;
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

/** The deliveries of one event type whose data matches, verified. */
function eventsFor(type: string, subject: (e: WebhookEvent) => boolean) {
  return receiver.received
    .map((r) => ({ r, event: verifyWebhook(hook.secret, r.headers, r.body) }))
    .filter(({ event }) => event.type === type && subject(event));
}

/** A refresh token, presented again after the grace window: refresh_token.reuse_detected. */
async function provokeReuse(): Promise<string> {
  const as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), options),
  );
  const user = await createUser();
  const audience = await createApi('files:read');
  const registered = await createClient([
    '--grant-types',
    'authorization_code,refresh_token',
    '--first-party',
    '--redirect-uri',
    REDIRECT,
    '--api',
    audience,
    '--scope',
    'openid offline_access files:read',
  ]);
  const client: oauth.Client = { client_id: registered.client_id };
  const auth = oauth.ClientSecretBasic(registered.client_secret!);
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid offline_access files:read',
    prompt: 'consent',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const callback = await authorize(url, user);
  const params = oauth.validateAuthResponse(as, client, callback);
  const code = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT, verifier, options),
  );
  const refresh = () => oauth.refreshTokenGrantRequest(as, client, auth, code.refresh_token!, options);
  expect((await refresh()).status).toBe(200);
  clockOffset += GRACE_MS + 1;
  expect((await refresh()).status).toBe(400);
  return client.client_id;
}

/** A user created by the CLI on the server's issuer (its user.created event is this issuer's). */
async function createUserHere(): Promise<string> {
  const created = await tessera(['--json', 'users', 'create', '--email', `${randomId('hook')}@example.test`], {
    env: { ISSUER: server.issuer },
  });
  expect(created.code, created.stderr).toBe(0);
  return (JSON.parse(created.stdout) as { id: string }).id;
}

describe('webhooks', () => {
  it('deliver a signed refresh_token.reuse_detected event; a tampered copy is refused', async () => {
    const clientId = await provokeReuse();
    const [{ r, event }] = await eventually(() => {
      const found = eventsFor('refresh_token.reuse_detected', (e) => e.data.actor === clientId);
      expect(found).toHaveLength(1);
      return found as [(typeof found)[0]];
    }, SLOW);
    expect(event).toMatchObject({ type: 'refresh_token.reuse_detected', data: { actor: clientId } });
    expect(r.headers['tessera-event-id']).toBe(event.id);
    expect(r.headers['content-type']).toBe('application/json');
    // Tampered: the body changed, or the signature, or replayed after the tolerance.
    const tampered = r.body.replace(clientId, 'someone-else');
    expect(() => verifyWebhook(hook.secret, r.headers, tampered)).toThrow(InvalidWebhookSignature);
    expect(() => verifyWebhook('whsec_wrong', r.headers, r.body)).toThrow(InvalidWebhookSignature);
    expect(() =>
      verifyWebhook(hook.secret, r.headers, r.body, { now: () => Date.now() + clockOffset + 600_000 }),
    ).toThrow('signature timestamp out of tolerance');
    // No secret in the server's logs.
    expect(JSON.stringify(server.logs)).not.toContain(hook.secret);
  }, 120_000);

  it('retries a delivery the receiver refused (503) and logs both attempts', async () => {
    receiver.answer(503);
    const userId = await createUserHere();
    const userEvents = () => eventsFor('user.created', (e) => e.data.subject === userId);
    await eventually(() => expect(userEvents()).toHaveLength(1), SLOW);
    receiver.answer(200);
    clockOffset += PAST_FIRST_BACKOFF_MS;
    await eventually(() => expect(userEvents()).toHaveLength(2), SLOW);
    // The same event id both times: the receiver de-duplicates on it.
    const [first, second] = userEvents();
    expect(second!.event.id).toBe(first!.event.id);
    expect(second!.r.headers['tessera-delivery-id']).toBe(first!.r.headers['tessera-delivery-id']);
    const log = await eventually(async () => {
      const list = await cli(['webhooks', 'deliveries', '--webhook', hook.id]);
      const mine = (list as unknown as Record<string, unknown>[]).find((d) => d.event_id === first!.event.id);
      expect(mine).toMatchObject({ status: 'delivered', attempts: 2, response_status: 200 });
      return mine!;
    }, SLOW);
    expect(log.type).toBe('user.created');
  }, 120_000);

  it('signs with both the old and the new secret during a rotation overlap', async () => {
    const rotated = (await cli(['webhooks', 'rotate-secret', hook.id, '--overlap', '1h'])) as unknown as {
      secret: string;
      previous_secret_valid_until: string;
    };
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(hook.secret);
    const userId = await createUserHere();
    const [{ r }] = await eventually(() => {
      const found = eventsFor('user.created', (e) => e.data.subject === userId);
      expect(found).toHaveLength(1);
      return found as [(typeof found)[0]];
    }, SLOW);
    expect(String(r.headers['tessera-signature']).match(/v1=/g)).toHaveLength(2);
    expect(verifyWebhook(rotated.secret, r.headers, r.body).data.subject).toBe(userId);
    expect(verifyWebhook(hook.secret, r.headers, r.body).data.subject).toBe(userId);
    // `show` never prints a secret.
    const shown = await cli(['webhooks', 'show', hook.id]);
    expect(JSON.stringify(shown)).not.toContain('whsec_');
    expect(shown).toMatchObject({ id: hook.id, previous_secret_valid_until: rotated.previous_secret_valid_until });
    // Receivers that moved to the new secret keep verifying; the old one goes on working until
    // the overlap ends.
    hook.secret = rotated.secret;
  }, 120_000);

  it('redelivers a delivery on request, with the same event id', async () => {
    const [latest] = (await cli([
      'webhooks',
      'deliveries',
      '--webhook',
      hook.id,
      '--status',
      'delivered',
      '--limit',
      '1',
    ])) as unknown as {
      id: string;
      event_id: string;
    }[];
    const before = receiver.received.filter((r) => r.headers['tessera-delivery-id'] === latest!.id).length;
    await cli(['webhooks', 'redeliver', latest!.id]);
    await eventually(() => {
      const again = receiver.received.filter((r) => r.headers['tessera-delivery-id'] === latest!.id);
      expect(again).toHaveLength(before + 1);
      expect(verifyWebhook(hook.secret, again.at(-1)!.headers, again.at(-1)!.body).id).toBe(latest!.event_id);
    }, SLOW);
  }, 120_000);

  it('delivers each event once with two replicas on one database', async () => {
    const replica = await startTestServer(
      { ISSUER: server.issuer, DEV_ALLOW_PRIVATE_WEBHOOK_URLS: 'true' },
      { clock: () => Date.now() + clockOffset },
    );
    try {
      const ids = await Promise.all([createUserHere(), createUserHere(), createUserHere(), createUserHere()]);
      const received = () => receiver.received.filter((r) => ids.some((id) => r.body.includes(id)));
      await eventually(() => expect(received()).toHaveLength(ids.length), SLOW);
      const deliveries = (await cli(['webhooks', 'deliveries', '--webhook', hook.id, '--limit', '20'])) as unknown as {
        event_id: string;
        attempts: number;
        status: string;
      }[];
      const events = new Set(received().map((r) => r.headers['tessera-event-id']));
      expect(events.size).toBe(ids.length);
      const mine = deliveries.filter((d) => events.has(d.event_id));
      expect(mine.map((d) => [d.status, d.attempts])).toEqual(ids.map(() => ['delivered', 1]));
    } finally {
      await replica.close();
    }
  }, 120_000);

  it('refuses private and malformed webhook URLs and unknown events from the CLI', async () => {
    const strict = { ISSUER: server.issuer };
    for (const [args, message] of [
      [['--url', 'http://127.0.0.1:9/x', '--events', 'user.created'], 'loopback, private or link-local'],
      [['--url', 'http://10.1.2.3/x', '--events', 'user.created'], 'loopback, private or link-local'],
      [['--url', 'http://169.254.169.254/x', '--events', 'user.created'], 'loopback, private or link-local'],
      [['--url', 'http://localhost/x', '--events', 'user.created'], 'loopback, private or link-local'],
      [['--url', 'ftp://example.test/x', '--events', 'user.created'], 'must be an http(s) URL'],
      [['--url', 'https://u:p@example.test/x', '--events', 'user.created'], 'must not carry credentials'],
      [['--url', 'not a url', '--events', 'user.created'], 'absolute http(s) URL'],
      [['--url', 'https://example.test/x', '--events', 'user.nonsense'], '--events'],
    ] as const) {
      const result = await tessera(['webhooks', 'create', ...args], { env: strict });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
    for (const args of [
      ['webhooks', 'show', "'; DROP TABLE webhooks; --"],
      ['webhooks', 'redeliver', '00000000-0000-0000-0000-000000000000'],
      ['webhooks', 'deliveries', '--status', 'lost'],
      ['webhooks', 'deliveries', '--limit', '1e9'],
    ]) {
      const result = await tessera(args, { env: strict });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).not.toContain('unexpected error');
    }
  }, 120_000);
});

// On the database and through the admin API (/admin/v1/webhooks…): the same commands, the same
// output, and the secret shown by create and rotate-secret only.
describe.each(CLI_MODES)('tessera webhooks (%s)', (mode) => {
  let admin: AdminClient;
  const { tessera: run } = cliIn(mode, () => ({ issuer: server.issuer, admin }));
  // The database mode works on the server's issuer and its settings, as `cli` above; the remote
  // mode is the server's.
  const inMode = (args: string[]) =>
    run(args, { env: { ISSUER: server.issuer, DEV_ALLOW_PRIVATE_WEBHOOK_URLS: 'true' } });
  const json = async <T>(args: string[]) => {
    const result = await inMode(['--json', ...args]);
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as T;
  };
  /** What a command printed is what the database mode prints (only the remote mode compares). */
  const asOnDatabase = async (args: string[], printed: { code: number; stdout: string; stderr: string }) => {
    expect(printed).toMatchObject({ code: 0, stderr: '' });
    if (mode === 'remote')
      expect(printed.stdout).toBe(
        (await tessera(args, { env: { ISSUER: server.issuer, DEV_ALLOW_PRIVATE_WEBHOOK_URLS: 'true' } })).stdout,
      );
    return printed.stdout;
  };
  // A receiver of its own: the other tests verify all they receive with the first hook's secret.
  let own: Receiver;
  beforeAll(async () => {
    [admin, own] = await Promise.all([createAdminClient(), startReceiver()]);
  }, 60_000);
  afterAll(() => own?.close());

  it('creates (the secret once), lists, shows, rotates, logs, redelivers and deletes, printing what the database mode prints', async () => {
    const created = await inMode([
      'webhooks',
      'create',
      '--url',
      `${own.url}?${mode}`,
      '--events',
      'user.created',
      '--description',
      mode,
    ]);
    expect(created.code, created.stderr).toBe(0);
    const [, id, secret] =
      /^created webhook (\S+) for user\.created\nsecret \(shown once, keep it in the receiver's configuration\): (whsec_\S+)\n$/.exec(
        created.stdout,
      ) ?? [];
    expect(secret).toBeTruthy();
    // `show` prints the hook as JSON, never its secret; `list` a table.
    const show = ['webhooks', 'show', id!];
    const shown = JSON.parse(await asOnDatabase(show, await inMode(show)));
    expect(shown).toEqual({
      id,
      url: `${own.url}?${mode}`,
      events: ['user.created'],
      description: mode,
      created_at: expect.any(String),
      secret_rotated_at: null,
      previous_secret_valid_until: null,
    });
    const listed = await asOnDatabase(['webhooks', 'list'], await inMode(['webhooks', 'list']));
    expect(listed).toMatch(new RegExp(`^${id} +\\S+\\?${mode} +user\\.created$`, 'm'));
    expect(listed + JSON.stringify(shown)).not.toContain('whsec_');

    // The secret signs what the hook receives.
    const userId = await createUserHere();
    const [delivered] = await eventually(() => {
      const found = own.received.filter((r) => r.path.endsWith(`?${mode}`) && r.body.includes(userId));
      expect(found).toHaveLength(1);
      return found;
    }, SLOW);
    expect(verifyWebhook(secret!, delivered!.headers, delivered!.body).data.subject).toBe(userId);
    const log = ['webhooks', 'deliveries', '--webhook', id!, '--status', 'delivered', '--limit', '5'];
    const [entry] = await eventually(async () => {
      const listed = await json<{ id: string; status: string }[]>(log);
      expect(listed).toHaveLength(1);
      return listed;
    }, SLOW);
    expect(entry).toMatchObject({ webhook_id: id, type: 'user.created', status: 'delivered', attempts: 1 });
    expect(await asOnDatabase(log, await inMode(log))).toMatch(/^ID +EVENT +TYPE +STATUS +ATTEMPTS +HTTP +CREATED\n/);
    expect(await inMode(['webhooks', 'redeliver', entry!.id])).toEqual({
      code: 0,
      stdout: `delivery ${entry!.id} queued again\n`,
      stderr: '',
    });
    await eventually(
      () => expect(own.received.filter((r) => r.headers['tessera-delivery-id'] === entry!.id)).toHaveLength(2),
      SLOW,
    );

    const rotated = await json<{ secret: string; previous_secret_valid_until: string }>([
      'webhooks',
      'rotate-secret',
      id!,
      '--overlap',
      '1h',
    ]);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(secret);
    expect(Date.parse(rotated.previous_secret_valid_until) - Date.now()).toBeGreaterThan(3_500_000);

    // Refusals: the same one line and exit 2 in both modes.
    const refused = ['webhooks', 'create', '--url', 'ftp://example.test/x', '--events', 'user.created'];
    expect(await inMode(refused)).toEqual({ code: 2, stdout: '', stderr: 'tessera: --url must be an http(s) URL\n' });
    expect(await inMode(['webhooks', 'delete', id!])).toEqual({
      code: 0,
      stdout: `deleted webhook ${id}\n`,
      stderr: '',
    });
    expect(await inMode(['webhooks', 'show', id!])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: no webhook "${id}"\n`,
    });
  }, 480_000);
});

describe('the event catalog (README "Webhooks")', () => {
  it("delivers the issue's events under their names; user.locked once per lockout, however many attempts race", async () => {
    const catalog = await startReceiver();
    try {
      // An audit type's own name (login.failed) is accepted and stored under the catalog's.
      const subscribed = (await cli([
        'webhooks',
        'create',
        '--url',
        catalog.url,
        '--events',
        'user.created,login.failed,user.locked,client.secret_rotated,signing_key.rotated',
      ])) as unknown as { events: string[]; secret: string };
      expect(subscribed.events).toEqual([
        'user.created',
        'user.login.failed',
        'user.locked',
        'client.secret_rotated',
        'signing_key.rotated',
      ]);
      const delivered = (type: string, subject: string) =>
        catalog.received
          .map((r) => ({ r, event: verifyWebhook(subscribed.secret, r.headers, r.body) }))
          .filter(({ event }) => event.type === type && event.data.subject === subject);

      const created = await createUserHere();
      const { url: login, clientId } = await signInUrl();
      await cli(['clients', 'rotate-secret', clientId]);

      // Wrong passwords in parallel from one address, far past the limit: the count is one
      // statement per attempt, so exactly one attempt trips the lockout and records it.
      const user = await createUser();
      const from = ownAddress();
      const attempts = await Promise.allSettled(
        Array.from({ length: LOGIN_FAILURES + 6 }, () =>
          authorize(login, { email: user.email, password: 'not the password' }, newJar(), from),
        ),
      );
      expect(attempts.every((a) => a.status === 'rejected')).toBe(true);
      const { id: userId } = await tesseraJson<{ id: string }>(['users', 'show', user.email]);

      await eventually(() => {
        expect(delivered('user.created', created)).toHaveLength(1);
        expect(delivered('client.secret_rotated', clientId)).toHaveLength(1);
        expect(delivered('user.login.failed', userId).length).toBeGreaterThanOrEqual(LOGIN_FAILURES);
        expect(delivered('user.locked', userId)).toHaveLength(1);
      }, SLOW);
      const [{ r, event }] = delivered('user.locked', userId) as [ReturnType<typeof delivered>[0]];
      expect(r.headers['tessera-event-type']).toBe('user.locked');
      expect(event.data).toMatchObject({ actor: 'anonymous', ip: from['x-forwarded-for'] });
      expect(delivered('login.failed', userId)).toEqual([]);
      // The audit trail keeps its names, and has the lockout once.
      const { rows } = await server.db.pool.query<{ type: string; n: number }>(
        `SELECT type, count(*)::int AS n FROM audit_events WHERE subject = $1 GROUP BY type ORDER BY type`,
        [userId],
      );
      expect(rows.find((row) => row.type === 'user.locked')?.n).toBe(1);
      expect(rows.find((row) => row.type === 'login.failed')?.n).toBeGreaterThanOrEqual(LOGIN_FAILURES);
    } finally {
      await catalog.close();
    }
  }, 180_000);
});

/** An authorization request of a new client: where a sign-in starts. */
async function signInUrl(): Promise<{ url: URL; clientId: string }> {
  const client = await createClient(['--grant-types', 'authorization_code', '--redirect-uri', REDIRECT]);
  const url = new URL(`${server.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
    code_challenge_method: 'S256',
  }).toString();
  return { url, clientId: client.client_id };
}
