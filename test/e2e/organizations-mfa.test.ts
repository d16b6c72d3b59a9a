// An organization that requires MFA of its members (issue 18, on issue 17's second factors): a
// request for that organization's token has its member pass a second factor, or enrol one, before
// the code is issued, and the ID token's amr says mfa; the same user's request without the
// organization is not asked; a non-member is refused as before, without being asked; `orgs
// update` turns the setting off and on. Over HTTP as a browser (mfa-flow.ts), TOTP codes computed
// with otpauth, ID tokens validated by oauth4webapi.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { browser, discover, idTokenOf, newClient, PASSWORD, secretOf, titleOf, totpCode } from './mfa-flow.ts';

// Several pages of sign-in and a CLI process or two per test: more than the default 30 s on a
// loaded 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

const ENROL = 'Set up two-step verification';
const VERIFY = 'Two-step verification';

let server: TestServer;
let as: oauth.AuthorizationServer;
let client: oauth.Client;

beforeAll(async () => {
  server = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1' });
  as = await discover(server);
  client = await newClient();
}, 60_000);
afterAll(() => server?.close());

const dir = mkdtempSync(join(tmpdir(), 'tessera-org-mfa-'));

/**
 * One seed file (one CLI process): an organization with the given settings, a member, and a user
 * who is not one. Emails are verified; `domain` is the users' email domain.
 */
async function world(settings: Record<string, unknown>, domain = 'example.test') {
  const org = randomId('org');
  const member = `${randomId('member')}@${domain}`;
  const outsider = `${randomId('outsider')}@${domain}`;
  const file = join(dir, `${org}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      users: [member, outsider].map((email) => ({
        email,
        email_verified: true,
        password: { env: 'TESSERA_SEED_ORG_MFA_TEST_PASSWORD' },
      })),
      organizations: [{ name: org, ...settings, members: [{ email: member }] }],
    }),
  );
  const seeded = await tessera(['seed', file], { env: { TESSERA_SEED_ORG_MFA_TEST_PASSWORD: PASSWORD } });
  expect(seeded.code, seeded.stderr).toBe(0);
  const { id } = await tesseraJson<{ id: string }>(['orgs', 'show', org]);
  return {
    org: { name: org, id },
    member: { email: member, password: PASSWORD },
    outsider: { email: outsider, password: PASSWORD },
  };
}

describe('an organization that requires MFA', () => {
  it('has a member without a factor enrol one before the code for its token, then asks for a code', async () => {
    const { org, member } = await world({ mfa_required: true });
    const b = browser(server, as);
    const flow = await b.start(client, { organization: org.name });
    await b.submit(flow, 'login', member);
    expect(titleOf(flow.page!.html)).toBe(ENROL);
    expect(flow.callback).toBeUndefined();
    const secret = secretOf(flow.page!.html);
    await b.submit(flow, 'enrol', { code: totpCode(secret) });
    await b.submit(flow, 'continue');
    const enrolled = await idTokenOf(as, flow);
    expect(enrolled).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], acr: 'urn:tessera:acr:mfa', org_id: org.id });

    // With TOTP now: another browser is asked for a code (the next step's: the first one is used).
    const other = browser(server, as);
    const again = await other.start(client, { scope: `openid email urn:tessera:org:${org.id}` });
    await other.submit(again, 'login', member);
    expect(titleOf(again.page!.html)).toBe(VERIFY);
    expect(again.callback).toBeUndefined();
    await other.submit(again, 'factor/totp', { code: totpCode(secret, 1) });
    expect(await idTokenOf(as, again)).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], org_id: org.id });
  });

  it('does not ask the same member without the organization; steps the session up when it is asked for', async () => {
    const { org, member } = await world({ mfa_required: true });
    const b = browser(server, as);
    const plain = await b.start(client);
    await b.submit(plain, 'login', member);
    const claims = await idTokenOf(as, plain);
    expect(claims.amr).toEqual(['pwd']);
    expect(claims.org_id).toBeUndefined();

    // The same session, now for the organization: the factor only (set up here), not the password.
    const scoped = await b.start(client, { organization: org.name });
    expect(titleOf(scoped.page!.html)).toBe(ENROL);
    await b.submit(scoped, 'enrol', { code: totpCode(secretOf(scoped.page!.html)) });
    await b.submit(scoped, 'continue');
    expect(await idTokenOf(as, scoped)).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], org_id: org.id });
  });

  it('refuses a non-member access_denied without asking for a factor', async () => {
    const { org, outsider } = await world({ mfa_required: true });
    const b = browser(server, as);
    const flow = await b.start(client, { organization: org.name });
    await b.submit(flow, 'login', outsider);
    expect(flow.page).toBeUndefined();
    expect(Object.fromEntries(flow.callback!.searchParams)).toEqual({
      error: 'access_denied',
      error_description: 'the user is not a member of the requested organization',
      iss: server.issuer,
    });
  });

  it('asks a user who joins just in time (verified email at an allowed domain)', async () => {
    const domain = `${randomId('jit')}.example.test`;
    const { org, outsider } = await world({ mfa_required: true, allowed_email_domains: [domain] }, domain);
    const b = browser(server, as);
    const flow = await b.start(client, { organization: org.name });
    await b.submit(flow, 'login', outsider);
    expect(titleOf(flow.page!.html)).toBe(ENROL);
    await b.submit(flow, 'enrol', { code: totpCode(secretOf(flow.page!.html)) });
    await b.submit(flow, 'continue');
    expect(await idTokenOf(as, flow)).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], org_id: org.id });
  });
});

describe('tessera orgs update', () => {
  it('turns the requirement off and on, audited; members are asked only while it is on', async () => {
    const { org, member } = await world({ mfa_required: true });
    const off = await tesseraJson<{ mfa_required: boolean; changed: string[] }>([
      'orgs',
      'update',
      org.name,
      '--no-mfa-required',
      '--display-name',
      'Acme Corp',
    ]);
    expect(off).toMatchObject({
      mfa_required: false,
      display_name: 'Acme Corp',
      changed: ['display_name', 'mfa_required'],
    });
    const b = browser(server, as);
    const flow = await b.start(client, { organization: org.name });
    await b.submit(flow, 'login', member);
    expect(await idTokenOf(as, flow)).toMatchObject({ amr: ['pwd'], org_id: org.id, org_name: 'Acme Corp' });

    const on = await tessera(['orgs', 'update', org.id, '--mfa-required']);
    expect(on.stdout.trim()).toBe(`updated organization ${org.name}: mfa_required`);
    // The session signed in with the password alone: stepped up for the organization now.
    const stepped = await b.start(client, { organization: org.name });
    expect(titleOf(stepped.page!.html)).toBe(ENROL);

    expect((await tessera(['orgs', 'update', org.name, '--mfa-required'])).stdout.trim()).toBe(
      `organization ${org.name} unchanged`,
    );
    const shown = await tessera(['orgs', 'show', org.name]);
    expect(shown.stdout).toContain("mfa required: yes (members pass a second factor for the organization's tokens)");
    const audit = await tesseraJson<{ subject: string; details: { changed: string[] } }[]>([
      'audit',
      '--type',
      'organization.updated',
    ]);
    expect(audit.filter((e) => e.subject === org.id).map((e) => e.details.changed)).toEqual(
      expect.arrayContaining([['display_name', 'mfa_required'], ['mfa_required']]),
    );
  });

  it('exits 2 on an unknown organization or a bad domain, changing nothing', async () => {
    const { org } = await world({ mfa_required: true });
    const cases: [string[], string][] = [
      [['orgs', 'update', randomId('nowhere'), '--no-mfa-required'], 'no organization'],
      [
        ['orgs', 'update', org.name, '--no-mfa-required', '--allow-email-domain', 'not a domain'],
        'is not an email domain',
      ],
    ];
    for (const [args, message] of cases) {
      const result = await tessera(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toContain(message);
    }
    expect(await tesseraJson(['orgs', 'show', org.name])).toMatchObject({ mfa_required: true });
  });
});
