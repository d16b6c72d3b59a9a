// The same small API twice, on Koa and on Express, each protected by the kit, each on a real
// HTTP port: the kit's tests run every case against both and expect the same answers.
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import {
  createResourceServer,
  type ResourceServerOptions,
  type NodeRequestOptions,
} from '../../src/resource-server/index.ts';
import { requireTokenExpress } from '../../src/resource-server/express.ts';
import { requireTokenKoa } from '../../src/resource-server/koa.ts';

export type Framework = 'koa' | 'express';

export interface ProtectedApi {
  url: string;
  close(): Promise<void>;
}

/**
 * GET /orders needs orders:read, POST /orders needs orders:write, GET /live needs orders:read
 * and asks introspection. Each answers `{ sub, scopes, scheme }`.
 */
export async function startProtectedApi(
  framework: Framework,
  options: ResourceServerOptions,
  requestOptions: NodeRequestOptions = {},
  tls?: ServerOptions,
): Promise<ProtectedApi> {
  const rs = createResourceServer(options);
  let handler: RequestListener;
  if (framework === 'koa') {
    const router = new Router();
    const answer = (ctx: Koa.Context) => {
      const t = ctx.state.accessToken;
      ctx.body = { sub: t.claims.sub, scopes: t.scopes, scheme: t.scheme };
    };
    router.get('/orders', requireTokenKoa(rs, { scopes: ['orders:read'] }, requestOptions), answer);
    router.post('/orders', requireTokenKoa(rs, { scopes: ['orders:write'] }, requestOptions), answer);
    router.get('/live', requireTokenKoa(rs, { scopes: ['orders:read'], introspect: true }, requestOptions), answer);
    const app = new Koa();
    app.use(router.routes());
    handler = app.callback();
  } else {
    const app = express();
    const answer = (_req: express.Request, res: express.Response) => {
      const t = res.locals.accessToken;
      res.json({ sub: t.claims.sub, scopes: t.scopes, scheme: t.scheme });
    };
    app.get('/orders', requireTokenExpress(rs, { scopes: ['orders:read'] }, requestOptions), answer);
    app.post('/orders', requireTokenExpress(rs, { scopes: ['orders:write'] }, requestOptions), answer);
    app.get('/live', requireTokenExpress(rs, { scopes: ['orders:read'], introspect: true }, requestOptions), answer);
    handler = app;
  }
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export interface Answer {
  status: number;
  wwwAuthenticate: string | null;
  body: unknown;
}

/** Calls the API and returns what a client sees. */
export async function call(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  return {
    status: res.status,
    wwwAuthenticate: res.headers.get('www-authenticate'),
    body: text ? JSON.parse(text) : undefined,
  };
}
