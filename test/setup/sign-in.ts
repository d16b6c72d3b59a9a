// Signing in over plain HTTP, as a browser would but without one, for protocol tests that need
// many authorization codes: follows redirects with a cookie jar and submits Tessera's login form.
export interface Jar {
  cookies: Map<string, string>;
}

export const newJar = (): Jar => ({ cookies: new Map() });

export async function get(jar: Jar, url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: {
      ...(init.headers as Record<string, string>),
      cookie: [...jar.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    },
  });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair!.indexOf('=');
    jar.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
  }
  return res;
}

/**
 * Runs an authorization request to its end: signs in when asked, approves consent when asked,
 * and returns where Tessera finally redirects (the app's callback URL with code or error).
 */
export async function authorize(
  authUrl: URL,
  user: { email: string; password: string },
  jar = newJar(),
  headers: Record<string, string> = {},
  /** Sees each page before it is submitted (a test that checks what the consent page says). */
  onPage: (html: string) => void = () => {},
): Promise<URL> {
  // Extra headers (e.g. X-Forwarded-For) on every request of the flow.
  const send = (url: string, init: RequestInit = {}) =>
    get(jar, url, { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } });
  let url = authUrl.href;
  for (let hops = 0; hops < 10; hops++) {
    const res = await send(url);
    if (res.status === 303 || res.status === 302) {
      const next = new URL(res.headers.get('location')!, url);
      if (next.origin !== authUrl.origin) return next;
      url = next.href;
      continue;
    }
    const html = await res.text();
    // The page's own words (from <main>), not its head, say what went wrong.
    if (res.status !== 200)
      throw new Error(`unexpected ${res.status} at ${url}: ${html.slice(Math.max(0, html.indexOf('<main')), 600)}`);
    onPage(html);
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    const action = html.includes('/login"') ? 'login' : 'confirm';
    const uid = new URL(url).pathname.split('/')[2];
    const body = new URLSearchParams({
      csrf: csrf!,
      ...(action === 'login' ? { email: user.email, password: user.password } : {}),
    });
    const posted = await send(`${authUrl.origin}/interaction/${uid}/${action}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    if (posted.status !== 303)
      throw new Error(`${action} answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
    url = new URL(posted.headers.get('location')!, url).href;
  }
  throw new Error('too many redirects');
}

/**
 * Opens one of Tessera's own pages (the account page, the admin console) with `jar`, signing in
 * on the way when it is sent to: the page it ends on, with its address and status.
 */
export async function signInAtPage(
  origin: string,
  path: string,
  user: { email: string; password: string },
  jar = newJar(),
): Promise<{ url: string; status: number; html: string }> {
  let url = new URL(path, origin).href;
  for (let hops = 0; hops < 10; hops++) {
    const res = await get(jar, url);
    if (res.status === 303 || res.status === 302) {
      url = new URL(res.headers.get('location')!, url).href;
      continue;
    }
    const html = await res.text();
    const uid = /action="\/interaction\/([^/]+)\/login"/.exec(html)?.[1];
    if (!uid) return { url, status: res.status, html };
    const posted = await get(jar, `${origin}/interaction/${uid}/login`, {
      method: 'POST',
      body: new URLSearchParams({ csrf: /name="csrf" value="([^"]+)"/.exec(html)![1]!, ...user }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    if (posted.status !== 303) throw new Error(`login answered ${posted.status}`);
    url = new URL(posted.headers.get('location')!, url).href;
  }
  throw new Error('too many redirects');
}
