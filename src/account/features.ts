// The self-service account features and what they run on: the outbox and its worker, mail, and
// the pages (password reset now; verification, sign-up and the account page build on these).
// createApp mounts the routes and stops the worker on close.
import type Router from '@koa/router';
import type pg from 'pg';
import type { Config } from '../config/config.ts';
import type { Queries } from '../db/queries/index.ts';
import { passwordResetRoutes } from '../interactions/password-reset.ts';
import { pageCsrf } from '../interactions/page-csrf.ts';
import type { Logger } from '../logging/logger.ts';
import { MAIL_KIND, mailer, mailHandler } from '../mail/mailer.ts';
import { mailTransport } from '../mail/transport.ts';
import type { Metrics } from '../metrics/registry.ts';
import { outbox, type OutboxKeys } from '../outbox/outbox.ts';
import { startOutboxWorker, type OutboxHandler } from '../outbox/worker.ts';
import { mailLimits } from '../rate-limit/limits.ts';
import type { Audit } from '../services/audit.ts';
import { forgotPath, passwordReset, RESET_REQUEST_KIND } from './password-reset.ts';

export function outboxKeys(config: Pick<Config, 'keysEncryptionKey' | 'previousKeysEncryptionKey'>): OutboxKeys {
  return {
    current: config.keysEncryptionKey,
    all: [config.keysEncryptionKey, ...(config.previousKeysEncryptionKey ? [config.previousKeysEncryptionKey] : [])],
  };
}

export interface AccountFeatures {
  routes: Router[];
  /** Links the sign-in page offers (only what is configured). */
  loginLinks: { forgotPassword: string | undefined };
  close(): Promise<void>;
}

export function accountFeatures(deps: {
  config: Config;
  queries: Queries;
  pool: pg.Pool;
  logger: Logger;
  audit: Audit;
  metrics: Metrics;
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
  const handlers: Record<string, OutboxHandler> = {};
  if (transport) {
    handlers[MAIL_KIND] = mailHandler(transport);
    handlers[RESET_REQUEST_KIND] = reset.requestHandler();
  }
  const worker = startOutboxWorker({ queries: queries.outbox, issuer: config.issuer, keys, handlers, logger });
  wake = worker.wake;

  const routes: Router[] = [];
  if (mail.enabled) {
    routes.push(
      passwordResetRoutes({
        reset,
        brand: config.brand,
        csrf: pageCsrf(config.cookieKeys[0]!),
        limits: mailLimits(deps.pool),
        passwordMinLength: config.passwordMinLength,
        onRateLimited: () => deps.metrics.rateLimited.inc({ limit: 'mail' }),
      }),
    );
  }
  return {
    routes,
    loginLinks: { forgotPassword: mail.enabled ? forgotPath : undefined },
    async close() {
      await worker.stop();
      transport?.close();
    },
  };
}
