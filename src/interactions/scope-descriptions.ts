// Scopes in words, for the consent page.
const OIDC: Record<string, { title: string; detail?: string }> = {
  openid: { title: 'Confirm who you are', detail: 'Your account identifier' },
  profile: { title: 'See your profile', detail: 'Name, nickname, picture, locale' },
  email: { title: 'See your email address' },
  address: { title: 'See your postal address' },
  phone: { title: 'See your phone number' },
  offline_access: { title: 'Stay connected', detail: 'Keep access while you are not using it' },
};

export function describeScopes(scopes: string[]): { title: string; detail?: string }[] {
  return scopes.map((s) => OIDC[s] ?? { title: `Use the API permission “${s}”` });
}
