// Mail rendered from templates in views/mail/: each message is <name>.txt.eta (plain text) and
// <name>.html.eta (inside mail/layout.html.eta), with the brand (product name, logo) from
// configuration. The subject lines are here, beside the names they belong to.
import { Eta } from 'eta';
import type { Brand } from '../views/render.ts';
import { VIEWS_DIR } from '../views/render.ts';
import type { MailMessage } from './transport.ts';

export type MailTemplate = 'password-reset' | 'email-verification' | 'invitation' | 'password-changed';

const SUBJECTS: Record<MailTemplate, (brand: Brand) => string> = {
  'password-reset': (b) => `Reset your ${b.name} password`,
  'email-verification': (b) => `Confirm your email address for ${b.name}`,
  invitation: (b) => `You are invited to ${b.name}`,
  'password-changed': (b) => `Your ${b.name} password was changed`,
};

// HTML is escaped; plain text is not (it is no markup, and an escaped "&" would show as "&amp;").
const html = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true, autoTrim: false });
const text = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: false, autoTrim: false });

export function renderMail(
  template: MailTemplate,
  brand: Brand,
  to: string,
  data: Record<string, unknown>,
): MailMessage {
  const subject = SUBJECTS[template](brand);
  const it = { ...data, brand, subject };
  return {
    to,
    subject,
    text: text.render(`mail/${template}.txt.eta`, it),
    html: html.render(`mail/${template}.html.eta`, it),
  };
}
