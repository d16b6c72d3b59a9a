// Scopes in words, for the consent, device and account pages.
import type { PlainKey, Translator } from '../i18n/messages.ts';

const OIDC: Record<string, { title: PlainKey; detail?: PlainKey }> = {
  openid: { title: 'scope.openid', detail: 'scope.openid.detail' },
  profile: { title: 'scope.profile', detail: 'scope.profile.detail' },
  email: { title: 'scope.email' },
  address: { title: 'scope.address' },
  phone: { title: 'scope.phone' },
  offline_access: { title: 'scope.offline_access', detail: 'scope.offline_access.detail' },
};

export function describeScopes({ t }: Translator, scopes: string[]): { title: string; detail?: string }[] {
  return scopes.map((s) => {
    const known = OIDC[s];
    if (!known) return { title: t('scope.api', { scope: s }) };
    return known.detail ? { title: t(known.title), detail: t(known.detail) } : { title: t(known.title) };
  });
}
