// Tessera's limits as the app uses them: which requests each one counts, under which key, and
// the 429 each one answers with. The counting itself is middleware/rate-limit.ts (exact, one
// statement per request) and rate-limit/batched-quota.ts (the token endpoint's, in memory).
import type { Context, Middleware } from 'koa';
import type pg from 'pg';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import { createLimiter } from '../db/queries/rate-limits.ts';
import { guessLimit, tokenRateLimit } from '../middleware/rate-limit.ts';
import type { Metrics } from '../metrics/registry.ts';
import { basicCredentials, isProviderRoute } from '../oidc/upstream.ts';
import { sendPage } from '../views/page.ts';
import { renderView } from '../views/render.ts';
import { translatorOf } from '../i18n/locale.ts';
import { batchedQuota, type Quota } from './batched-quota.ts';

// Sign-in limits count over 15 minutes (OWASP's usual lockout period): long enough to stop
// guessing, short enough that a locked-out user is not locked out for long.
const LOGIN_WINDOW = 15 * 60;
// The window for device-code entry attempts: as long as a device code lives by default.
const DEVICE_CODE_ENTRY_WINDOW = 600;
// The token quota is configured per minute (RATE_LIMIT_TOKEN_PER_MINUTE).
const TOKEN_WINDOW = 60;

/**
 * The account page's "current password" checks, per account: the sign-in's failure budget per
 * window, so that a browser left signed in cannot be used to guess the password faster than
 * the sign-in page allows. Every attempt counts (a person changes a password rarely).
 */
export function accountPasswordLimit(pool: pg.Pool, limits: Config['rateLimits']) {
  return createLimiter(pool, { name: 'account_password', points: limits.loginFailures, windowSeconds: LOGIN_WINDOW });
}

/** The sign-in page's limits (interactions/routes.ts spends them). */
export function loginLimits(pool: pg.Pool, limits: Config['rateLimits']) {
  return {
    // A password guesser spraying accounts from one address.
    perIp: createLimiter(pool, { name: 'login_ip', points: limits.loginPerIp, windowSeconds: LOGIN_WINDOW }),
    // A password guesser on one account: counted per account *and* IP, so that an attacker
    // cannot lock the real user out from the user's own network.
    perAccount: createLimiter(pool, {
      name: 'login_account',
      points: limits.loginFailures,
      windowSeconds: LOGIN_WINDOW,
    }),
    // What a locked-out address may write to the audit trail: one row per window.
    lockedRecords: createLimiter(pool, { name: 'login_locked_record', points: 1, windowSeconds: LOGIN_WINDOW }),
  };
}

// Passkey ceremonies started per address in LOGIN_WINDOW. Each stores a challenge row for five
// minutes; a person needs one or two per sign-in, a family behind one address a few dozen; a
// script filling the challenges table is stopped at this many.
const PASSKEY_CHALLENGES_PER_IP = 100;

/** Passkey challenges (options) per address: services/passkeys.ts stores each one. */
export function passkeyChallengeLimit(pool: pg.Pool) {
  return createLimiter(pool, {
    name: 'passkey_challenge_ip',
    points: PASSKEY_CHALLENGES_PER_IP,
    windowSeconds: LOGIN_WINDOW,
  });
}

/**
 * Second-factor attempts (interactions/second-factor.ts): per account, wherever they come from.
 * Whoever gets this far has the password, so there is no user to protect from a lockout by a
 * stranger, only codes to protect from guessing: 5 tries in 15 minutes leave a 6-digit code
 * (3 accepted at a time, WINDOW ±1) about 1 chance in 700 000 per window. Attempts also spend the
 * address's sign-in budget (loginLimits.perIp).
 */
export function secondFactorLimits(pool: pg.Pool, limits: Config['rateLimits']) {
  return {
    perAccount: createLimiter(pool, { name: 'mfa_account', points: limits.mfaFailures, windowSeconds: LOGIN_WINDOW }),
  };
}

// Mail-sending pages (password reset, verification, sign-up): counted per hour.
const MAIL_WINDOW = 3600;
// Per address: a person who mistypes tries a few times; a script spraying addresses to flood
// inboxes (or the SMTP relay's reputation) is stopped after 20 an hour from one address.
const MAIL_PER_IP = 20;
// Per account (the email as typed, hashed; whether or not it has an account, so the limit
// reveals nothing): 3 links an hour are plenty for one person and bound the mail to any inbox.
const MAIL_PER_ACCOUNT = 3;

/** The limits of the pages that mail a link (interactions/password-reset.ts, account/). */
export function mailLimits(pool: pg.Pool) {
  return {
    perIp: createLimiter(pool, { name: 'mail_ip', points: MAIL_PER_IP, windowSeconds: MAIL_WINDOW }),
    perAccount: createLimiter(pool, { name: 'mail_account', points: MAIL_PER_ACCOUNT, windowSeconds: MAIL_WINDOW }),
  };
}

export type MailLimits = ReturnType<typeof mailLimits>;

/**
 * Dynamic client registration per client address and hour (DCR_RATE_LIMIT_PER_HOUR): an app
 * registers once per installation; a script filling the clients table is stopped.
 */
export function registrationLimit(pool: pg.Pool, perHour: number) {
  return createLimiter(pool, { name: 'dcr_ip', points: perHour, windowSeconds: 3600 });
}

/**
 * Guessing user codes: a bounded number of wrong code entries per client IP (RFC 8628 §5.1 limits
 * guesses). An entry that finds its device (the browser is sent on to sign in) spends nothing, so
 * many devices behind one address can all be connected. A person is at a browser, so the refusal
 * is a page, not JSON.
 */
export function deviceCodeEntryLimit(
  pool: pg.Pool,
  config: Pick<Config, 'deviceFlow' | 'brand'>,
  codeVerificationPath: string,
): Middleware {
  return guessLimit(
    createLimiter(pool, {
      name: 'device_code_entry',
      points: config.deviceFlow.attemptsPerWindow,
      windowSeconds: DEVICE_CODE_ENTRY_WINDOW,
    }),
    (ctx) => ctx.method === 'POST' && isProviderRoute(ctx.path, codeVerificationPath),
    (ctx) => ctx.ip,
    (ctx, retryAfter) => {
      const { t, locale } = translatorOf(ctx);
      sendPage(
        ctx,
        renderView(
          'device-done',
          config.brand,
          {
            heading: t('device.tooMany.heading'),
            message: t('device.input.tooMany', { minutes: Math.ceil(retryAfter / 60) }),
          },
          locale,
        ),
        429,
      );
    },
    // A code that finds its device leads on to the interaction (sign-in, then the confirmation);
    // anything else (a wrong, expired or used code, a stale form) is answered otherwise.
    (ctx) =>
      !(
        ctx.status >= 300 &&
        ctx.status < 400 &&
        new URL(ctx.response.get('location'), 'http://x').pathname.startsWith('/interaction/')
      ),
  );
}

/** The token endpoint's per-client quota, counted in memory and shared in batches. */
export function tokenQuota(pool: pg.Pool, limits: Config['rateLimits']): Quota {
  return batchedQuota(pool, { name: 'token', points: limits.tokenPerMinute, windowSeconds: TOKEN_WINDOW });
}

// API keys' quotas are configured per key (tessera api-keys create --quota 100/min,10000/day).
const MINUTE = 60;
const DAY = 86_400;

/**
 * The per-key quotas of API keys (oidc/api-key-introspection.ts): the token quota's mechanism,
 * with each key's own limit given at each decision (Quota.take), so that no decision is
 * check-then-act within a process, and replicas overshoot by at most what the others served in
 * their last flush period (batched-quota.ts).
 */
export function apiKeyQuotas(pool: pg.Pool, now?: Clock) {
  return {
    perMinute: batchedQuota(pool, { name: 'api_key_minute', points: 1, windowSeconds: MINUTE, now }),
    perDay: batchedQuota(pool, { name: 'api_key_day', points: 1, windowSeconds: DAY, now }),
  };
}

/**
 * Per client (the Basic-authentication user) and per address at the token endpoint. The refusal
 * is JSON in the token endpoint's error shape, for the client library that reads it.
 */
export function tokenEndpointLimit(quota: Quota, tokenPath: string, metrics: Metrics): Middleware {
  return tokenRateLimit(
    quota,
    (ctx) => ctx.method === 'POST' && ctx.path === tokenPath,
    clientKey,
    (ctx, retryAfter) => {
      metrics.rateLimited.inc({ limit: 'token' });
      ctx.status = 429;
      ctx.body = {
        error: 'rate_limited',
        error_description: `too many token requests for this client; retry after ${retryAfter} s`,
      };
    },
  );
}

function clientKey(ctx: Context): string | undefined {
  const basic = basicCredentials(ctx.get('authorization'));
  return basic && `client:${basic.clientId}`;
}
