// WORKERS=2: one primary and two server processes sharing the port (src/cluster.ts), as an
// operator runs Tessera on a multi-core machine.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { eventually } from '../setup/eventually.ts';
import { startServerProcess, type ServerProcess } from '../setup/server-process.ts';
import { randomId, testEnv, tesseraJson } from '../setup/tessera.ts';

let server: ServerProcess;
let metricsPort: number;
let auth: string;

const children = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);

// Workers start and restart in seconds (a cold Node process each); 20 s is slack for a loaded machine.
const until = (check: () => unknown) => eventually(check, { timeoutMs: 20_000, intervalMs: 100 });

beforeAll(async () => {
  const port = await freePort();
  metricsPort = await freePort();
  server = await startServerProcess(
    {
      ...testEnv(),
      WORKERS: '2',
      METRICS_PORT: String(metricsPort),
      METRICS_TOKEN: 'cluster-metrics-token-0123',
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: `http://127.0.0.1:${port}`,
    },
    `http://127.0.0.1:${port}`,
  );
  const audience = `https://${randomId('cluster')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', 'r']);
  const c = await tesseraJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'c',
    '--grant-types',
    'client_credentials',
    '--api',
    audience,
    '--scope',
    'r',
  ]);
  auth = `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`;
});

afterAll(async () => {
  await server?.stop();
});

/** A token request on a new connection (no keep-alive), so that it reaches a live worker. */
const token = () =>
  new Promise<{ status: number }>((resolve, reject) => {
    const req = request(
      `${server.issuer}/token`,
      {
        method: 'POST',
        agent: false,
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode! }));
      },
    );
    req.on('error', reject);
    req.end('grant_type=client_credentials&scope=r');
  });

/** Successful token requests, as the metrics say: from the primary's port, or a worker's main port. */
async function requestsCounted(where: 'metrics port' | 'main port' = 'metrics port'): Promise<number> {
  const res =
    where === 'metrics port'
      ? await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
      : await fetch(`${server.issuer}/metrics`, { headers: { authorization: 'Bearer cluster-metrics-token-0123' } });
  const text = await res.text();
  return [
    ...text.matchAll(/^tessera_http_requests_total\{method="POST",route="\/token",status="200"\} (\d+)/gm),
  ].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('WORKERS=2', () => {
  it('serves from two worker processes and adds up their metrics on METRICS_PORT', async () => {
    await until(() => expect(children(server.pid)).toHaveLength(2));
    const before = await requestsCounted();
    // Enough requests that both workers answer some (the primary hands connections round-robin).
    const statuses = await Promise.all(Array.from({ length: 20 }, () => token().then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await requestsCounted()).toBe(before + 20);
    // A worker asked on the main port answers for the whole cluster too.
    expect(await requestsCounted('main port')).toBe(before + 20);
  });

  it('replaces a worker that dies', async () => {
    const [victim, survivor] = children(server.pid);
    // What the dead worker held is lost with it, as in any crash; the primary starts another.
    process.kill(victim!, 'SIGKILL');
    await until(() => {
      const now = children(server.pid);
      expect(now).toHaveLength(2);
      expect(now).not.toContain(victim);
      expect(now).toContain(survivor);
    });
    await until(async () =>
      expect((await fetch(`${server.issuer}/readyz`, { headers: { connection: 'close' } })).status).toBe(200),
    );
    const statuses = await Promise.all(Array.from({ length: 10 }, () => token().then((r) => r.status)));
    expect(statuses).toEqual(Array(10).fill(200));
  });

  it('stops every worker on SIGTERM and exits 0', async () => {
    const workers = children(server.pid);
    expect(await server.stop()).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  });
});
