// The sections the account page links to, beyond its own (password, email, sessions, apps).
// A feature with pages under /account adds one entry here and mounts its routes behind
// accountSession().required (account-session.ts).
export interface AccountSection {
  /** The link's text, e.g. "Two-step sign-in". */
  title: string;
  /** One sentence under it. */
  description: string;
  /** Its page, under /account. */
  href: string;
}

export const ACCOUNT_SECTIONS: AccountSection[] = [
  {
    title: 'Two-step verification',
    description: 'An authenticator app and recovery codes, asked for after your password.',
    href: '/account/security',
  },
];
