// tessera/resource-server: protect an API with Tessera's access tokens. See the README's
// "Protecting an API" section.
export { createResourceServer } from "./resource-server.js";
export { memoryReplayCache } from "./replay-cache.js";
export { AuthorizationServerUnavailable, InsufficientScope, InvalidDpopProof, InvalidRequest, InvalidToken, MissingToken, QuotaExceeded, ResourceServerError, } from "./errors.js";
export { toProtectedRequest } from "./node-request.js";
export { requireTokenKoa } from "./koa.js";
export { requireTokenExpress } from "./express.js";
export { InvalidWebhookSignature, verifyWebhook, } from "./webhook-signature.js";
