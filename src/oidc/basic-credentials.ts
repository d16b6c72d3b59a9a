// Moved to the oidc-provider seam (upstream.ts); kept so that app.ts, edited by others at the
// same time, needs no change. Import from './upstream.ts' instead; delete once app.ts does.
export { basicCredentials } from './upstream.ts';
