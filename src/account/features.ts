// The self-service account features and what they run on: the outbox and its worker, mail, and
// the pages (password reset now; verification, sign-up and the account page build on these).
// createApp mounts the routes and stops the worker on close.
import type { ClientCatalog } from '../cache/client-catalog.ts';
import type Router from '@koa/router';
import type pg from 'pg';
import type { Config } from '../config/config.ts';
import type { Queries } from '../db/queries/index.ts';
import { accountLinkRoutes, signupPath } from '../interactions/account-links.ts';
import { passwordResetRoutes } from '../interactions/password-reset.ts';
import { pageCsrf } from '../interactions/page-csrf.ts';
import type { Logger } from '../logging/logger.ts';
import type { Locale } from '../i18n/messages.ts';
import { MAIL_KIND, mailer, mailHandler } from '../mail/mailer.ts';
import { mailTransport } from '../mail/transport.ts';
import type { Metrics } from '../metrics/registry.ts';
import { outbox, outboxKeys } from '../outbox/outbox.ts';
import { startOutboxWorker, type OutboxHandler } from '../outbox/worker.ts';
import { mailLimits } from '../rate-limit/limits.ts';
import type { Audit } from '../services/audit.ts';
import { emailVerification, type EmailVerification } from './email-verification.ts';
import { forgotPath, passwordReset, RESET_REQUEST_KIND } from './password-reset.ts';
import { signup } from './signup.ts';
import { WEBHOOK_KIND } from '../db/queries/webhooks.ts';
import { webhookHandler } from '../webhooks/delivery.ts';
import type { Provider } from 'oidc-provider';
import { BACKCHANNEL_LOGOUT_KIND, backchannelLogoutHandler } from '../oidc/backchannel-logout.ts';
import type { Outbox } from '../outbox/outbox.ts';

// Where it has always been imported from; it lives beside the outbox (services build outboxes too).
export { outboxKeys };

/**
 * The mailing services for a process without a worker (the CLI): what it mails waits in the
 * outbox for a server of the same ISSUER to send.
 */
export function mailingServices(config: Config, queries: Queries, audit: Audit) {
  const box = outbox(queries.outbox, config.issuer, outboxKeys(config));
  const mail = mailer(box, config.brand, config.mail.transport !== 'none');
  return {
    mail,
    verification: emailVerification({ issuer: config.issuer, tokens: queries.userTokens, mail, audit }),
    reset: passwordReset({
      issuer: config.issuer,
      users: queries.users,
      tokens: queries.userTokens,
      outbox: box,
      mail,
      audit,
      passwordMinLength: config.passwordMinLength,
    }),
  };
}

export interface AccountFeatures {
  routes: Router[];
  /** Links the sign-in page offers (only what is configured). */
  loginLinks: { forgotPassword: string | undefined; signup: string | undefined };
  /** Mails verification links (for the sign-in flow's verified-email requirement). */
  verification: EmailVerification;
  /** The mail-sending limits, shared with the account page's "send the link again". */
  mailLimits: ReturnType<typeof mailLimits>;
  /** Tells a user their password was changed (the account page); undefined without mail. */
  passwordChangedMail: ((email: string, locale?: Locale) => Promise<void>) | undefined;
  /** Mails a verification link; undefined without mail. */
  sendVerification: EmailVerification['send'] | undefined;
  /** For clients that require a verified email (interactions/routes.ts); undefined without mail. */
  /** The outbox this process's worker drains (back-channel logout enqueues into it). */
  outbox: Outbox;
  verifiedEmail:
    | {
        required(clientId: string): Promise<boolean>;
        remind(userId: string, ip: string, locale?: Locale): Promise<void>;
      }
    | undefined;
  close(): Promise<void>;
}

export function accountFeatures(deps: {
  config: Config;
  queries: Queries;
  pool: pg.Pool;
  logger: Logger;
  audit: Audit;
  metrics: Metrics;
  /** The clients as the request path reads them (cached; cache/client-catalog.ts). */
  clients: Pick<ClientCatalog, 'get'>;
  /** The provider serving now: back-channel logout tokens are signed with its keys. */
  provider?: () => Provider;
}): AccountFeatures {
  const { config, queries, logger, audit } = deps;
  const keys = outboxKeys(config);
  const transport = mailTransport(config.mail, logger);
  let wake = () => {};
  const box = outbox(queries.outbox, config.issuer, keys, () => wake());
  const mail = mailer(box, config.brand, transport !== undefined);
  const reset = passwordReset({
    issuer: config.issuer,
    users: queries.users,
    tokens: queries.userTokens,
    outbox: box,
    mail,
    audit,
    passwordMinLength: config.passwordMinLength,
  });
  const verification = emailVerification({ issuer: config.issuer, tokens: queries.userTokens, mail, audit });
  const handlers: Record<string, OutboxHandler> = {};
  if (transport) {
    handlers[MAIL_KIND] = mailHandler(transport);
    handlers[RESET_REQUEST_KIND] = reset.requestHandler();
  }
  // Webhooks: whatever the mail configuration (services/webhooks.ts enqueues, webhooks/delivery.ts sends).
  handlers[WEBHOOK_KIND] = webhookHandler({
    queries: queries.webhooks,
    keys,
    allowPrivate: config.webhooks.allowPrivate,
    logger,
  });
  if (deps.provider)
    handlers[BACKCHANNEL_LOGOUT_KIND] = backchannelLogoutHandler({
      provider: deps.provider,
      allowPrivate: config.webhooks.allowPrivate,
      logger,
    });
  const worker = startOutboxWorker({ queries: queries.outbox, issuer: config.issuer, keys, handlers, logger });
  wake = worker.wake;

  const limits = mailLimits(deps.pool);
  const routes: Router[] = [];
  const open = mail.enabled && config.signup === 'open';
  if (mail.enabled) {
    const shared = {
      brand: config.brand,
      csrf: pageCsrf(config.cookieKeys[0]!),
      limits,
      passwordMinLength: config.passwordMinLength,
      onRateLimited: () => deps.metrics.rateLimited.inc({ limit: 'mail' }),
    };
    routes.push(passwordResetRoutes({ reset, ...shared }));
    routes.push(
      accountLinkRoutes({
        verification,
        signup: open
          ? signup({ users: queries.users, verification, audit, passwordMinLength: config.passwordMinLength })
          : undefined,
        ...shared,
      }),
    );
  }
  return {
    routes,
    outbox: box,
    verification,
    mailLimits: limits,
    passwordChangedMail: mail.enabled
      ? (email, locale) =>
          mail.send(email, 'password-changed', { email, forgotLink: `${config.issuer}${forgotPath}` }, locale)
      : undefined,
    sendVerification: mail.enabled ? verification.send : undefined,
    verifiedEmail: mail.enabled
      ? {
          async required(clientId) {
            // From the catalog, which the authorization request has just loaded: no query of its own.
            return (await deps.clients.get(clientId))?.requireVerifiedEmail === true;
          },
          async remind(userId, ip, locale) {
            // The same per-account budget as the other mailed links: a user who signs in again
            // and again before reading the mail gets 3 links an hour, not one per attempt.
            if (await limits.perAccount.spend(`verify:${userId}`)) return;
            await verification.send(userId, userId, ip, locale);
          },
        }
      : undefined,
    loginLinks: { forgotPassword: mail.enabled ? forgotPath : undefined, signup: open ? signupPath : undefined },
    async close() {
      await worker.stop();
      transport?.close();
    },
  };
}
