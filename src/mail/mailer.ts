// Sending mail, as the rest of Tessera sees it: render now, deliver later through the outbox (a
// row of kind 'mail'), so that a slow or absent SMTP server neither delays nor fails the request,
// and nothing is lost while it is down.
import type { Outbox } from '../outbox/outbox.ts';
import type { OutboxHandler } from '../outbox/worker.ts';
import type { Locale } from '../i18n/messages.ts';
import type { Brand } from '../views/render.ts';
import { renderMail, type MailTemplate } from './templates.ts';
import type { MailMessage, MailTransport } from './transport.ts';

export const MAIL_KIND = 'mail';

export interface Mailer {
  /** Whether mail can be sent at all (not in production without SMTP_URL). */
  readonly enabled: boolean;
  /** Renders the message in `locale` (the language of the page that caused it; default English). */
  send(to: string, template: MailTemplate, data: Record<string, unknown>, locale?: Locale): Promise<void>;
}

export function mailer(outbox: Outbox, brand: Brand, enabled: boolean): Mailer {
  return {
    enabled,
    async send(to, template, data, locale) {
      if (!enabled) throw new Error('mail is not configured (SMTP_URL)');
      await outbox.enqueue(MAIL_KIND, renderMail(template, brand, to, data, locale));
    },
  };
}

/** The outbox handler of kind 'mail': hands the message to the transport. */
export function mailHandler(transport: MailTransport): OutboxHandler {
  return (payload) => transport.send(payload as MailMessage);
}
