// A person's side of the device flow over plain HTTP, and form posts: for the hardening suites
// and for bench/soak.ts (so this file imports nothing from vitest).
import { get, type Jar } from '../setup/sign-in.ts';

export const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});

/**
 * A person approving a device over plain HTTP, as a browser without JavaScript would: opens
 * verification_uri_complete, submits the code it carries, signs in and answers the one
 * confirmation page (which must show the code) with Connect, until the "Device connected" page.
 * `origin` may be another replica than the one that issued the code; `headers` go with every
 * request (e.g. X-Forwarded-For).
 */
export async function approveDevice(
  jar: Jar,
  origin: string,
  verificationUriComplete: string,
  user: { email: string; password: string },
  headers: Record<string, string> = {},
): Promise<void> {
  const send = (url: string, init: RequestInit = {}) =>
    get(jar, url, { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } });
  const complete = new URL(verificationUriComplete);
  const userCode = complete.searchParams.get('user_code')!;
  let res = await send(`${origin}${complete.pathname}${complete.search}`);
  let html = await res.text();
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1];
  res = await send(`${origin}${complete.pathname}`, form({ xsrf: field('xsrf')!, user_code: field('user_code')! }));
  let confirmedBefore = false;
  for (let hops = 0; hops < 10; hops++) {
    if (res.status === 302 || res.status === 303) {
      const next = new URL(res.headers.get('location')!, origin);
      res = await send(`${origin}${next.pathname}${next.search}`);
      continue;
    }
    html = await res.text();
    // The page's own words, not its head, say what went wrong.
    if (res.status !== 200) throw new Error(`device approval: ${res.status} ${main(html)}`);
    if (html.includes('Device connected')) return;
    // The release before issue 22 asked "Connect …?" before sign-in (the provider's confirm
    // form): a rolling upgrade's old replicas still show it, so a person answers it there.
    const previous = /<form id="op\.deviceConfirmForm"[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
    if (previous) {
      const hidden = Object.fromEntries(
        [...previous[2]!.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      res = await send(new URL(previous[1]!, origin).href, form(hidden));
      confirmedBefore = true;
      continue;
    }
    const uid = /action="\/interaction\/([^/"]+)\/(login|confirm)"/.exec(html);
    if (!uid) throw new Error(`device approval: unexpected page ${main(html)}`);
    // (An old replica's consent page after its own "Connect …?" page did not repeat the code.)
    if (uid[2] === 'confirm' && !html.includes(userCode) && !confirmedBefore)
      throw new Error('device approval: the confirmation does not show the code');
    const fields: Record<string, string> = { csrf: field('csrf')! };
    if (uid[2] === 'login') Object.assign(fields, { email: user.email, password: user.password });
    res = await send(`${origin}/interaction/${uid[1]}/${uid[2]}`, form(fields));
  }
  throw new Error('device approval: too many redirects');
}

const main = (html: string) =>
  html
    .slice(Math.max(0, html.indexOf('<main')))
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .slice(0, 300);
