// A person's side of the device flow over plain HTTP, and form posts: for the hardening suites
// and for bench/soak.ts (so this file imports nothing from vitest).
import { get, type Jar } from '../setup/sign-in.ts';

export const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});

/**
 * A person approving a device over plain HTTP: opens verification_uri_complete, confirms the
 * code, signs in and approves, until the "Device connected" page. `origin` may be another
 * replica than the one that issued the code.
 */
export async function approveDevice(
  jar: Jar,
  origin: string,
  verificationUriComplete: string,
  user: { email: string; password: string },
): Promise<void> {
  const complete = new URL(verificationUriComplete);
  let res = await get(jar, `${origin}${complete.pathname}${complete.search}`);
  let html = await res.text();
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1];
  res = await get(
    jar,
    `${origin}${complete.pathname}`,
    form({ xsrf: field('xsrf')!, user_code: field('user_code')!, confirm: 'yes' }),
  );
  for (let hops = 0; hops < 10; hops++) {
    if (res.status === 302 || res.status === 303) {
      const next = new URL(res.headers.get('location')!, origin);
      res = await get(jar, `${origin}${next.pathname}${next.search}`);
      continue;
    }
    html = await res.text();
    // The page's own words, not its head, say what went wrong.
    if (res.status !== 200) throw new Error(`device approval: ${res.status} ${main(html)}`);
    if (html.includes('Device connected')) return;
    const uid = /action="\/interaction\/([^/"]+)\/(login|confirm)"/.exec(html);
    if (!uid) throw new Error(`device approval: unexpected page ${main(html)}`);
    const fields: Record<string, string> = { csrf: field('csrf')! };
    if (uid[2] === 'login') Object.assign(fields, { email: user.email, password: user.password });
    res = await get(jar, `${origin}/interaction/${uid[1]}/${uid[2]}`, form(fields));
  }
  throw new Error('device approval: too many redirects');
}

const main = (html: string) =>
  html
    .slice(Math.max(0, html.indexOf('<main')))
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .slice(0, 300);
