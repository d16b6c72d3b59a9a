// What the error page tells a person: what happened and what to do, in words for the person
// in front of the browser, not for the app's developer. The RFC error code stays on the page
// (small, for a support ticket) beside the request id; the technical description goes to the
// log under that request id (error-page.ts), never onto the page. The words are message keys
// (i18n/en.ts), put into the page's language by error-page.ts.
import type { PlainKey } from '../i18n/messages.ts';

export interface Explanation {
  heading: PlainKey;
  happened: PlainKey;
  todo: PlainKey;
}

// oidc-provider's SessionNotFound (and Tessera's own expired-interaction answers) carry these
// descriptions: the sign-in's cookie or record is gone, finished, or from another browser.
const ENDED_SIGN_IN =
  /session id cookie not found|interaction session not found|^session not found|session principal changed|authorization request has expired|session.* mismatch/;

const ENDED: Explanation = {
  heading: 'error.ended.heading',
  happened: 'error.ended.happened',
  todo: 'error.ended.todo',
};

const BY_CODE: Record<string, Explanation> = {
  invalid_redirect_uri: {
    heading: 'error.redirectUri.heading',
    happened: 'error.redirectUri.happened',
    todo: 'error.todo.retryOrSupport',
  },
  invalid_client: {
    heading: 'error.client.heading',
    happened: 'error.client.happened',
    todo: 'error.todo.backOrSupport',
  },
  unauthorized_client: {
    heading: 'error.unauthorizedClient.heading',
    happened: 'error.unauthorizedClient.happened',
    todo: 'error.todo.support',
  },
  access_denied: {
    heading: 'error.denied.heading',
    happened: 'error.denied.happened',
    todo: 'error.denied.todo',
  },
  invalid_scope: {
    heading: 'error.scope.heading',
    happened: 'error.scope.happened',
    todo: 'error.todo.support',
  },
  temporarily_unavailable: {
    heading: 'error.unavailable.heading',
    happened: 'error.unavailable.happened',
    todo: 'error.unavailable.todo',
  },
  too_many_requests: {
    heading: 'error.tooMany.heading',
    happened: 'error.tooMany.happened',
    todo: 'error.tooMany.todo',
  },
  server_error: {
    heading: 'error.server.heading',
    happened: 'error.server.happened',
    todo: 'error.server.todo',
  },
  // Tessera's account pages: a form without this session's CSRF token (errors.ts Forbidden).
  forbidden: {
    heading: 'error.forbidden.heading',
    happened: 'error.forbidden.happened',
    todo: 'error.forbidden.todo',
  },
  not_found: {
    heading: 'error.notFound.heading',
    happened: 'error.notFound.happened',
    todo: 'error.notFound.todo',
  },
};

const INVALID_REQUEST: Explanation = {
  heading: 'error.invalid.heading',
  happened: 'error.invalid.happened',
  todo: 'error.todo.retryOrSupport',
};

export function explain(status: number, error: string, description: string | undefined): Explanation {
  if (ENDED_SIGN_IN.test(description ?? '')) return ENDED;
  return BY_CODE[error] ?? (status >= 500 ? BY_CODE.server_error! : INVALID_REQUEST);
}
