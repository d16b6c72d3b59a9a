// Mail rendered from templates in views/mail/: each message is <name>.txt.eta (plain text) and
// <name>.html.eta (inside mail/layout.html.eta), with the brand (product name, logo) from
// configuration and the words from the message catalog (i18n/), in the locale of the page that
// caused the mail. The subject lines are here, beside the names they belong to.
import { Eta } from 'eta';
import { DEFAULT_LOCALE, type Locale, type MessageKey, translator } from '../i18n/messages.ts';
import { type Brand, TEMPLATE_HEADER, templateGlobals, VIEWS_DIR } from '../views/render.ts';
import type { MailMessage } from './transport.ts';

export type MailTemplate = 'password-reset' | 'email-verification' | 'invitation' | 'password-changed';

const SUBJECTS: Record<MailTemplate, MessageKey & `${string}.subject`> = {
  'password-reset': 'mail.reset.subject',
  'email-verification': 'mail.verify.subject',
  invitation: 'mail.invite.subject',
  'password-changed': 'mail.changed.subject',
};

// HTML is escaped; plain text is not (it is no markup, and an escaped "&" would show as "&amp;").
const options = { views: VIEWS_DIR, cache: true, autoTrim: false, functionHeader: TEMPLATE_HEADER } as const;
const html = new Eta({ ...options, autoEscape: true });
const text = new Eta({ ...options, autoEscape: false });

export function renderMail(
  template: MailTemplate,
  brand: Brand,
  to: string,
  data: Record<string, unknown>,
  locale: Locale = DEFAULT_LOCALE,
): MailMessage {
  const subject = translator(locale).t(SUBJECTS[template], { product: brand.name });
  const it = { ...data, ...templateGlobals(brand, locale), subject };
  return {
    to,
    subject,
    text: text.render(`mail/${template}.txt.eta`, it),
    html: html.render(`mail/${template}.html.eta`, it),
  };
}
