// The single-page app: a public client (no secret) doing Authorization Code + PKCE with
// oauth4webapi, keeping its tokens in memory only, and renewing them silently with the
// refresh token, which Tessera rotates on every use (a stolen, used one is useless and its
// reuse revokes the whole family).
import * as oauth from '/vendor/oauth4webapi.js';

const config = await (await fetch('/config.json')).json();
const issuer = new URL(config.issuer);
// oauth4webapi refuses plain HTTP unless told: only for a Tessera on this machine.
const options = ['localhost', '127.0.0.1'].includes(issuer.hostname) ? { [oauth.allowInsecureRequests]: true } : {};
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
const client = { client_id: config.clientId };
const clientAuth = oauth.None();

// The tokens live in these variables and nowhere else: not in localStorage, sessionStorage or
// a cookie, where a script injected later, or the next user of the machine, could read them.
// A reload signs in again (Tessera's session cookie makes that a redirect, not a password).
let accessToken;
let refreshToken;
let renewTimer;
let renewals = 0;

const $ = (id) => document.getElementById(id);

function keep(tokens) {
  accessToken = tokens.access_token;
  refreshToken = tokens.refresh_token ?? refreshToken;
  clearTimeout(renewTimer);
  const after = config.renewAfter ?? tokens.expires_in * 0.75;
  renewTimer = setTimeout(() => renew().catch(signedOut), after * 1000);
}

async function signIn() {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  // The verifier and state must survive the redirect to Tessera and back: sessionStorage (this
  // tab only), removed on return. Neither is a token; without the code they are worth nothing.
  sessionStorage.setItem('pkce', JSON.stringify({ verifier, state }));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: config.redirectUri,
    response_type: 'code',
    scope: config.scope,
    state,
    // OpenID Connect Core §11: offline_access (the refresh token) is granted only with prompt=consent.
    prompt: 'consent',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url);
}

async function finishSignIn() {
  const pkce = JSON.parse(sessionStorage.getItem('pkce'));
  sessionStorage.removeItem('pkce');
  const callback = new URL(location.href);
  history.replaceState(null, '', config.redirectUri); // the code leaves the address bar and history
  const params = oauth.validateAuthResponse(as, client, callback, pkce.state);
  const res = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    clientAuth,
    params,
    config.redirectUri,
    pkce.verifier,
    options,
  );
  keep(await oauth.processAuthorizationCodeResponse(as, client, res));
}

async function renew() {
  const res = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, options);
  keep(await oauth.processRefreshTokenResponse(as, client, res));
  $('renewals').textContent = String(++renewals);
}

async function loadOrders() {
  const res = await fetch(`${config.apiUrl}/orders`, { headers: { authorization: `Bearer ${accessToken}` } });
  $('orders').textContent = `${res.status} ${await res.text()}`;
}

function signedIn() {
  $('status').textContent = 'Signed in';
  $('sign-in').hidden = true;
  $('load').hidden = false;
  $('renew').hidden = false;
}

function signedOut(err) {
  accessToken = refreshToken = undefined;
  clearTimeout(renewTimer);
  $('status').textContent = err ? `Signed out: ${err.error ?? err.message}` : 'Not signed in';
  $('sign-in').hidden = false;
  $('load').hidden = true;
  $('renew').hidden = true;
}

$('sign-in').onclick = () => signIn();
$('load').onclick = () => loadOrders();
$('renew').onclick = () => renew().catch(signedOut);

if (sessionStorage.getItem('pkce') && new URL(location.href).searchParams.has('state')) {
  try {
    await finishSignIn();
    signedIn();
  } catch (err) {
    signedOut(err);
  }
} else {
  signedOut();
}
