// The services an admin drives, for one actor: built the same way for the CLI (cli/context.ts)
// and for each admin API call (admin/routes.ts), so that both run one implementation.
import type { Config } from '../config/config.ts';
import type { Queries } from '../db/queries/index.ts';
import { mailingServices } from '../account/features.ts';
import { InvalidInput, NotFound } from '../errors.ts';
import { backchannelLogouts } from '../oidc/backchannel-logout.ts';
import { outbox, outboxKeys } from '../outbox/outbox.ts';
import { apiService } from './apis.ts';
import { apiKeyService } from './api-keys.ts';
import type { Audit } from './audit.ts';
import { clientService } from './clients.ts';
import { dcrService } from './dcr.ts';
import { grantService } from './grants.ts';
import { auditEventService } from './audit-events.ts';
import { keyService } from './keys.ts';
import { organizationService } from './organizations.ts';
import { roleService } from './roles.ts';
import { userMfaService } from './user-mfa.ts';
import { userService } from './users.ts';
import { webhookService } from './webhooks.ts';

export function adminServices(config: Config, queries: Queries, audit: Audit, actor: string) {
  const users = userService(queries.users, audit, actor, { passwordMinLength: config.passwordMinLength });
  /** The mailing services, when mail is configured (SMTP_URL); what they mail waits in the outbox. */
  const mailing = (why: string) => {
    const services = mailingServices(config, queries, audit);
    if (!services.mail.enabled) throw new InvalidInput(`${why} needs mail: set SMTP_URL (README "Email")`);
    return services;
  };
  const grants = grantService({
    payloads: queries.payloads,
    sessions: queries.accountSessions,
    consents: queries.consents,
    audit,
    actor,
    // The server's outbox worker sends the logout tokens (a CLI process only adds the rows).
    sessionsEnded: backchannelLogouts(() => outbox(queries.outbox, config.issuer, outboxKeys(config))),
  });
  /**
   * Mail to a user who asked for none (an admin's invitation or verification link): in the
   * user's language (users.locale), as the CLI's `users invite` and `users create --send-verification`.
   */
  const userMail = {
    async sendVerification(userId: string) {
      await mailing('a verification link').verification.send(userId, actor);
    },
    /** Checks first (before a user is created) that this mail can be sent at all. */
    check(kind: 'invitation' | 'verification') {
      if (kind === 'invitation' && config.signup === 'off')
        throw new InvalidInput('invitations are off: set SIGNUP=invite (README "Sign-up")');
      mailing(kind === 'invitation' ? 'an invitation' : 'a verification link');
    },
    async invite(userId: string) {
      await mailing('an invitation').reset.invite(userId, actor);
    },
    /** A link to choose a new password (valid 30 minutes), as the user's "Forgot your password?". */
    async sendPasswordReset(idOrEmail: string) {
      const user = await users.show(idOrEmail);
      if (user.disabled) throw new InvalidInput(`${user.email} is disabled: enable the account first`);
      if (!(await mailing('a password reset link').reset.sendLink(user.id, user.email)))
        throw new NotFound(`no user ${idOrEmail}`);
      await audit.record({ type: 'user.password_reset_link_sent', actor, subject: user.id });
      return user;
    },
  };
  return {
    userMail,
    apis: apiService(queries.apis, audit, actor),
    clients: clientService({
      clients: queries.clients,
      apis: queries.apis,
      exchange: queries.tokenExchange,
      pepper: config.clientSecretPepper,
      audit,
      actor,
    }),
    apiKeys: apiKeyService({
      keys: queries.apiKeys,
      apis: queries.apis,
      clients: queries.clients,
      users: queries.users,
      pepper: config.clientSecretPepper,
      audit,
      actor,
    }),
    users: {
      ...users,
      /** The user, and their grants: refresh tokens stop, access tokens introspect inactive. */
      async delete(idOrEmail: string) {
        const user = await users.delete(idOrEmail);
        for (const grant of await grants.list(user.id)) await grants.revoke(grant.grant_id);
        return user;
      } /**
       * Creates the user and mails them in their language: an invitation to choose a password
       * (SIGNUP=invite), or a link to confirm the address. Whether that mail can go at all is
       * checked before anything is created.
       */,
      async createAndMail(input: Parameters<typeof users.create>[0], mail: 'invitation' | 'verification') {
        userMail.check(mail);
        const user = await users.create(input);
        if (mail === 'invitation') await userMail.invite(user.id);
        else if (!user.email_verified) await userMail.sendVerification(user.id);
        return user;
      },
    },
    mfa: userMfaService({ secondFactors: queries.secondFactors, findUser: users.find, audit, actor }),
    roles: roleService(
      { roles: queries.roles, apis: queries.apis, clients: queries.clients, findUser: users.find },
      audit,
      actor,
    ),
    organizations: organizationService({
      organizations: queries.organizations,
      apis: queries.apis,
      findUser: users.find,
      audit,
      actor,
    }),
    webhooks: webhookService({
      queries: queries.webhooks,
      issuer: config.issuer,
      keys: outboxKeys(config),
      audit,
      actor,
      production: config.production,
      allowPrivate: config.webhooks.allowPrivate,
    }),
    dcr: dcrService({ registrations: queries.registrations, audit, actor }),
    keys: keyService({ config, signingKeys: queries.signingKeys, apis: queries.apis, audit, actor }),
    grants,
    auditEvents: auditEventService(queries.auditEvents),
  };
}

export type AdminServices = ReturnType<typeof adminServices>;
