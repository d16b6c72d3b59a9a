// What the error page tells a person: what happened and what to do, in words for the person
// in front of the browser, not for the app's developer. The RFC error code stays on the page
// (small, for a support ticket) beside the request id; the technical description goes to the
// log under that request id (error-page.ts), never onto the page.

export interface Explanation {
  heading: string;
  happened: string;
  todo: string;
}

// oidc-provider's SessionNotFound (and Tessera's own expired-interaction answers) carry these
// descriptions: the sign-in's cookie or record is gone, finished, or from another browser.
const ENDED_SIGN_IN =
  /session id cookie not found|interaction session not found|^session not found|session principal changed|authorization request has expired|session.* mismatch/;

const ENDED: Explanation = {
  heading: 'This sign-in has ended',
  happened:
    'The page belongs to a sign-in that has expired, was already completed, or was started in another browser or tab.',
  todo: 'Go back to the app and start signing in again.',
};

const BY_CODE: Record<string, Explanation> = {
  invalid_redirect_uri: {
    heading: 'This app sent you to an address it has not registered',
    happened:
      'For your safety, you are not sent back to an address the app has not registered with this server, so the sign-in stopped here.',
    todo: "Go back to the app and try again. If it happens again, contact the app's support and quote the reference below.",
  },
  invalid_client: {
    heading: 'This app is not known here',
    happened: 'The app that sent you here is not registered with this server, or has been disabled.',
    todo: "Go back to the app. If it happens again, contact the app's support and quote the reference below.",
  },
  unauthorized_client: {
    heading: 'This app may not sign you in this way',
    happened: 'The app asked for a kind of sign-in it is not allowed to use.',
    todo: "Contact the app's support and quote the reference below.",
  },
  access_denied: {
    heading: 'Access was not granted',
    happened: 'The sign-in was cancelled or refused, so the app was not given access.',
    todo: 'Go back to the app if you want to try again.',
  },
  invalid_scope: {
    heading: 'The app asked for something it may not have',
    happened: 'The app requested access that it is not allowed to ask for.',
    todo: "Contact the app's support and quote the reference below.",
  },
  temporarily_unavailable: {
    heading: 'Sign-in is unavailable for a moment',
    happened: 'The server cannot reach its database right now.',
    todo: 'Wait a few seconds and reload this page.',
  },
  too_many_requests: {
    heading: 'Too many attempts',
    happened: 'There were too many attempts from your network in a short time.',
    todo: 'Wait a few minutes, then go back to the app and try again.',
  },
  server_error: {
    heading: 'Something went wrong',
    happened: 'The server could not complete the request because of an error on its side.',
    todo: 'Try again in a moment. If it keeps happening, give the reference below to your administrator.',
  },
  // Tessera's account pages: a form without this session's CSRF token (errors.ts Forbidden).
  forbidden: {
    heading: 'This form cannot be sent',
    happened: 'The form has expired, or it did not come from this site.',
    todo: 'Go back, reload the page and try again.',
  },
  not_found: {
    heading: 'Page not found',
    happened: 'There is no page at this address.',
    todo: 'Check the address, or go back to the app and start again.',
  },
};

const INVALID_REQUEST: Explanation = {
  heading: 'This sign-in cannot continue',
  happened: 'The app sent a sign-in request that this server cannot accept.',
  todo: "Go back to the app and try again. If it happens again, contact the app's support and quote the reference below.",
};

export function explain(status: number, error: string, description: string | undefined): Explanation {
  if (ENDED_SIGN_IN.test(description ?? '')) return ENDED;
  return BY_CODE[error] ?? (status >= 500 ? BY_CODE.server_error! : INVALID_REQUEST);
}
