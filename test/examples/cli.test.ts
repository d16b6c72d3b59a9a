// examples/cli: a command-line tool with the Device Authorization Grant. It prints where to go
// and the code; the person approves in Chromium; the tool gets its tokens and calls the API.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, signIn } from '../setup/browser.ts';
import { randomId, startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';
import { runExample, startOrdersApi } from './example-process.ts';

let server: TestServer;
let browser: Browser;
let api: Awaited<ReturnType<typeof startOrdersApi>>;
let clientId: string;
const user = { email: `${randomId('ada')}@example.test`, password: 'correct horse battery' };

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer({ DEVICE_POLL_INTERVAL: '1' }), launchBrowser()]);
  api = await startOrdersApi(server.issuer);
  await tessera(['users', 'create', '--email', user.email, '--password-stdin'], { input: user.password });
  clientId = (
    await tesseraJson<{ client_id: string }>([
      'clients',
      'create',
      '--name',
      'Orders CLI',
      '--public',
      '--grant-types',
      'device_code,refresh_token',
      '--api',
      api.audience,
      '--scope',
      'openid offline_access orders:read',
    ])
  ).client_id;
});
afterAll(async () => {
  await api?.process.stop();
  await browser?.close();
  await server?.close();
});

describe('examples/cli', () => {
  it('prints the code, waits while the person approves in a browser, then calls the API as them', async () => {
    const cli = runExample('examples/cli/device-login.ts', {
      ISSUER: server.issuer,
      CLIENT_ID: clientId,
      API_URL: api.url,
    });
    const [, uri, code] = await cli.waitFor(/To sign in, open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})\n/);
    expect(uri).toBe(`${server.issuer}/device`);

    const page = await browser.newPage();
    await page.goto(uri!);
    await page.getByLabel('Code').fill(code!);
    await page.getByRole('button', { name: 'Continue' }).click();
    await signIn(page, user);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await page.close();

    expect(await cli.exit()).toBe(0);
    const [, sub] = /signed in as (\S+)\n/.exec(cli.output())!;
    expect(cli.output()).toContain(
      `GET /orders → 200 {"orders":[{"id":1,"item":"tessera tiles","quantity":40}],"caller":{"sub":"${sub}","client_id":"${clientId}"}}`,
    );
  });
});
