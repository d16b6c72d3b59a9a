// The sections the account page links to, beyond its own (password, email, sessions, apps).
// A feature with pages under /account adds one entry here and mounts its routes behind
// accountSession().required (account-session.ts). Title and description are message keys
// (i18n/en.ts), shown in the page's language.
import type { PlainKey } from '../i18n/messages.ts';

export interface AccountSection {
  /** The link's text, e.g. "Two-step sign-in". */
  title: PlainKey;
  /** One sentence under it. */
  description: PlainKey;
  /** Its page, under /account. */
  href: string;
}

export const ACCOUNT_SECTIONS: AccountSection[] = [
  {
    title: 'account.section.security',
    description: 'account.section.security.detail',
    href: '/account/security',
  },
];
