// A real browser for page tests: Debian's Chromium driven by playwright-core. Screenshots go to
// test-results/screenshots/ for a reviewer to look at.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium: npm test checks it is there (prerequisites.ts). */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root in a container there is no sandbox; without the background-networking flags,
    // Chromium keeps calling home, which this machine's closed network refuses.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-default-apps',
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/**
 * The app's side of the redirect: a real HTTP server on loopback that answers its redirect URI
 * with a page and hands each callback URL to the test waiting for it.
 */
export async function startCallbackServer(): Promise<{
  redirectUri: string;
  /**
   * The next callback URL, once `page` has loaded the app's answer to it: the request reaches
   * the server before the browser commits the navigation, and a `goto` in between is
   * "interrupted by another navigation".
   */
  next(page: Page): Promise<URL>;
  close(): Promise<void>;
}> {
  const waiting: ((url: URL) => void)[] = [];
  const arrived: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://localhost:${(server.address() as AddressInfo).port}`);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end(); // the browser's own requests, e.g. /favicon.ico
      return;
    }
    const waiter = waiting.shift();
    if (waiter) waiter(url);
    else arrived.push(url);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>App</title><p>Back at the app.</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    redirectUri: `http://localhost:${port}/callback`,
    next: async (page) => {
      const url = arrived.shift() ?? (await new Promise<URL>((resolve) => waiting.push(resolve)));
      await page.waitForURL((loaded) => loaded.port === String(port) && loaded.pathname === '/callback');
      return url;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Fills in and submits Tessera's sign-in form. */
export async function signIn(page: Page, user: { email: string; password: string }): Promise<void> {
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
