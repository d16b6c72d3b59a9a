// tessera/resource-server: protect an API with Tessera's access tokens. See the README's
// "Protecting an API" section.
export { createResourceServer } from './resource-server.ts';
export type {
  ProtectedRequest,
  Requirement,
  ResourceServer,
  ResourceServerOptions,
  VerifiedToken,
} from './resource-server.ts';
export type { AccessTokenClaims } from './access-token.ts';
export type { IntrospectionOptions } from './introspection.ts';
export type { ApiKeyOptions } from './api-key.ts';
export { memoryReplayCache, type ReplayCache } from './replay-cache.ts';
export type { ErrorResponse } from './challenge.ts';
export {
  AuthorizationServerUnavailable,
  InsufficientScope,
  InvalidDpopProof,
  InvalidRequest,
  InvalidToken,
  MissingToken,
  QuotaExceeded,
  ResourceServerError,
  type Scheme,
} from './errors.ts';
export { toProtectedRequest, type NodeRequestOptions } from './node-request.ts';
export { requireTokenKoa, type KoaLikeContext } from './koa.ts';
export { requireTokenExpress, type ExpressLikeRequest, type ExpressLikeResponse } from './express.ts';
export {
  InvalidWebhookSignature,
  verifyWebhook,
  type VerifyWebhookOptions,
  type WebhookEvent,
} from './webhook-signature.ts';
