// A browser without a browser, at a source address of its own: a cookie jar and HTTP requests
// whose TCP connections come from a loopback address chosen by the test (127.x.y.z; Linux routes
// all of 127/8 to the loopback interface). The sign-in limits count per client address in the
// shared test database; an address of a test's own keeps its budget apart from every other
// file's, without a forwarded-address header, so whatever TRUST_PROXY says.
import http from 'node:http';

const octet = () => Math.floor(Math.random() * 254) + 1;
export const ownLoopbackAddress = () => `127.${octet()}.${octet()}.${octet()}`;

export interface Answer {
  status: number;
  location: string | undefined;
  body: string;
}

/** One browser at one source address: a cookie jar and requests sent from that address. */
export function browserAt(address: string) {
  const cookies = new Map<string, string>();
  const send = (url: string, options: { method?: string; form?: Record<string, string> } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const body = options.form && new URLSearchParams(options.form).toString();
      const req = http.request(
        url,
        {
          method: options.method ?? 'GET',
          localAddress: address,
          headers: {
            cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
            ...(body
              ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }
              : {}),
          },
        },
        (res) => {
          for (const c of res.headers['set-cookie'] ?? []) {
            const [pair] = c.split(';');
            const i = pair!.indexOf('=');
            cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
          }
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    /** Starts an authorization request and returns a function that submits its login form. */
    async signInPage(issuer: string, clientId: string, redirectUri: string) {
      const url = new URL(`${issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'openid',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
      }).toString();
      const started = await send(url.href);
      if (started.status !== 303) throw new Error(`/auth answered ${started.status}: ${started.body.slice(0, 300)}`);
      const interaction = new URL(started.location!, issuer).href;
      const page = await send(interaction);
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
      return (email: string, password: string) =>
        send(`${interaction}/login`, { method: 'POST', form: { csrf, email, password } });
    },
  };
}
