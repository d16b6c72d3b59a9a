// Dynamic client registration: RFC 7591 (POST /register) and RFC 7592 management (GET, PUT,
// DELETE /register/:clientId with the registration access token). Mounted only when DCR is not
// `off` (app.ts); discovery then names the endpoint (provider-config.ts).
//
// A registration goes through the same client service as `tessera clients create` (one
// validation, one store, one audit trail), with the registration policy (policy.ts) in front.
// Tokens are 256-bit random values, shown once; only their SHA-256 is stored
// (db/queries/registrations.ts). Every refusal of a token is the same 401, so that a caller
// learns nothing about which clients exist.
import { createHash, randomBytes } from 'node:crypto';
import Router from '@koa/router';
import { readBody } from '../middleware/read-body.ts';
import type { Context } from 'koa';
import type { RegistrationQueries } from '../db/queries/registrations.ts';
import type { Limiter } from '../db/queries/rate-limits.ts';
import { InvalidInput, NotFound } from '../errors.ts';
import { REGISTRATION_PATH } from '../oidc/provider-config.ts';
import type { Audit } from '../services/audit.ts';
import type { clientService } from '../services/clients.ts';
import type { ClientView } from '../services/client-view.ts';
import { asRegistrationError, clientInputFor, type RegistrationPolicy } from './policy.ts';

// A registration is a few URIs and names: 64 KiB is generous.
const BODY_LIMIT = 64 * 1024;

export interface RegistrationDeps {
  issuer: string;
  mode: 'initial-token' | 'open';
  policy: RegistrationPolicy;
  registrations: RegistrationQueries;
  clients: ReturnType<typeof clientService>;
  audit: Audit;
  /** Registrations per client address (DCR_RATE_LIMIT_PER_HOUR). */
  perAddress: Limiter;
}

const sha256 = (token: string) => createHash('sha256').update(token).digest('base64url');
const newToken = () => randomBytes(32).toString('base64url');

async function readJson(ctx: Context): Promise<unknown> {
  if (!ctx.is('application/json')) throw new InvalidInput('expected application/json');
  const body = await readBody(ctx, BODY_LIMIT, () => new InvalidInput('the request body is too large'));
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidInput('the request body is not valid JSON');
  }
}

function bearer(ctx: Context): string | undefined {
  const match = /^Bearer ([A-Za-z0-9_~.+/-]+=*)$/.exec(ctx.get('authorization'));
  return match?.[1];
}

function refuseToken(ctx: Context, description: string) {
  ctx.status = 401;
  ctx.set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${description}"`);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'invalid_token', error_description: description };
}

function registrationError(ctx: Context, err: unknown) {
  const refused = asRegistrationError(err);
  ctx.status = 400;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: refused.code, error_description: refused.message };
}

/** The client's registered metadata as RFC 7591 §3.2.1 returns it. */
function clientInformation(issuer: string, client: ClientView, extra: Record<string, unknown>) {
  const grantTypes = client.grant_types;
  return {
    client_id: client.client_id,
    client_id_issued_at: Math.floor(new Date(client.created_at).getTime() / 1000),
    ...extra,
    client_name: client.name,
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris,
    token_endpoint_auth_method: client.token_endpoint_auth_method,
    ...(client.backchannel_logout_uri
      ? {
          backchannel_logout_uri: client.backchannel_logout_uri,
          backchannel_logout_session_required: client.backchannel_logout_session_required,
        }
      : {}),
    scope: [client.scope, ...client.apis.flatMap((a) => a.scopes)].filter(Boolean).join(' '),
    registration_client_uri: `${issuer}${REGISTRATION_PATH}/${encodeURIComponent(client.client_id)}`,
  };
}

export function registrationRoutes(deps: RegistrationDeps): Router {
  const { registrations, clients, audit, issuer } = deps;
  const router = new Router();

  router.post(REGISTRATION_PATH, async function registerClient(ctx) {
    let initialTokenId: string | undefined;
    if (deps.mode === 'initial-token') {
      const token = bearer(ctx);
      initialTokenId = token === undefined ? undefined : await registrations.spendInitialToken(sha256(token));
      if (!initialTokenId) return refuseToken(ctx, 'a valid initial access token is required');
    }
    const wait = await deps.perAddress.spend(ctx.ip);
    if (wait > 0) {
      if (initialTokenId) await registrations.refundInitialToken(initialTokenId);
      ctx.status = 429;
      ctx.set('Retry-After', String(wait));
      ctx.body = { error: 'rate_limited', error_description: 'too many registrations from this address' };
      return;
    }
    let created: Awaited<ReturnType<typeof clients.create>>;
    try {
      const input = clientInputFor(await readJson(ctx), deps.policy);
      created = await clients.create(input);
    } catch (err) {
      if (initialTokenId) await registrations.refundInitialToken(initialTokenId);
      if (err instanceof InvalidInput && /JSON|application\/json|too large/.test(err.message)) throw err;
      return registrationError(ctx, err);
    }
    const registrationToken = newToken();
    await registrations.record({
      clientId: created.client.client_id,
      tokenHash: sha256(registrationToken),
      initialTokenId,
      registeredFrom: ctx.ip,
    });
    await audit.record({
      type: 'client.registered',
      actor: initialTokenId ? `dcr-token:${initialTokenId}` : 'dcr:open',
      subject: created.client.client_id,
      ip: ctx.ip,
      details: { grant_types: created.client.grant_types },
    });
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = clientInformation(issuer, created.client, {
      ...(created.clientSecret ? { client_secret: created.clientSecret, client_secret_expires_at: 0 } : {}),
      registration_access_token: registrationToken,
    });
  });

  /** The client the request's registration access token manages, or undefined after answering 401. */
  async function managed(ctx: Context): Promise<{ clientId: string; tokenHash: string } | undefined> {
    const token = bearer(ctx);
    const tokenHash = token === undefined ? undefined : sha256(token);
    const owner = tokenHash === undefined ? undefined : await registrations.clientOf(tokenHash);
    if (!owner || owner.clientId !== ctx.params.clientId) {
      refuseToken(ctx, 'the registration access token is not valid for this client');
      return undefined;
    }
    return { clientId: owner.clientId, tokenHash: tokenHash! };
  }

  const path = `${REGISTRATION_PATH}/:clientId`;

  router.get(path, async function readRegistration(ctx) {
    const owner = await managed(ctx);
    if (!owner) return;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = clientInformation(issuer, await clients.show(owner.clientId), {});
  });

  router.put(path, async function updateRegistration(ctx) {
    const owner = await managed(ctx);
    if (!owner) return;
    const body = await readJson(ctx);
    // RFC 7592 §2.2: the body names the client it updates.
    if (typeof body === 'object' && body !== null && (body as { client_id?: unknown }).client_id !== owner.clientId)
      return registrationError(
        ctx,
        new InvalidInput('client_id in the body must be the client being updated (RFC 7592 §2.2)'),
      );
    let updated: ClientView;
    try {
      const input = clientInputFor(body, deps.policy);
      const current = await clients.show(owner.clientId);
      // The kind of client (public or with a secret) stays: a new kind is a new registration.
      updated = await clients.update(owner.clientId, {
        ...input,
        public: current.token_endpoint_auth_method === 'none',
      });
    } catch (err) {
      return registrationError(ctx, err);
    }
    const registrationToken = newToken();
    if (!(await registrations.rotateToken(owner.clientId, owner.tokenHash, sha256(registrationToken))))
      return refuseToken(ctx, 'the registration access token is not valid for this client');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = clientInformation(issuer, updated, { registration_access_token: registrationToken });
  });

  router.delete(path, async function deleteRegistration(ctx) {
    const owner = await managed(ctx);
    if (!owner) return;
    try {
      await clients.delete(owner.clientId);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
    ctx.status = 204;
  });

  return router;
}
