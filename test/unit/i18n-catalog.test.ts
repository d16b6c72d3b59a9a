// The message catalog: every locale translates every key of the English one (and nothing else),
// with the same parameters and markup; every key is used by a page, a mail or a route; every key
// a template names exists. And the choice of locale: ui_locales, then Accept-Language, else English.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromAcceptLanguage, negotiate } from '../../src/i18n/locale.ts';
import { catalogs, LOCALES, translator } from '../../src/i18n/messages.ts';
import { renderMail } from '../../src/mail/templates.ts';
import { renderView } from '../../src/views/render.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CATALOG_DIR = join(ROOT, 'src/i18n');

function filesUnder(dir: string, ends: string[]): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => ends.some((e) => f.endsWith(e)))
    .map((f) => join(dir, f));
}

// Where keys are used: the templates and scripts of views/, and Tessera's code outside the
// catalogs themselves.
const sources = [
  ...filesUnder(join(ROOT, 'views'), ['.eta', '.js']),
  ...filesUnder(join(ROOT, 'src'), ['.ts']).filter(
    (f) => !f.startsWith(CATALOG_DIR) || f.endsWith('messages.ts') || f.endsWith('locale.ts'),
  ),
].map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, 'utf8') }));
const allText = sources.map((s) => s.text).join('\n');

const english = catalogs.en as Record<string, string>;
const keys = Object.keys(english);
const params = (message: string) => [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const tags = (message: string) => [...message.matchAll(/<\/?([a-z]+)/g)].map((m) => m[0]).sort();

describe('message catalog', () => {
  for (const locale of LOCALES) {
    it(`${locale} has exactly the English keys, with their parameters and markup`, () => {
      const messages = catalogs[locale] as Record<string, string>;
      expect(Object.keys(messages).sort()).toEqual([...keys].sort());
      for (const key of keys) {
        const message = messages[key]!;
        expect(message.trim(), `${locale} ${key} is empty`).not.toBe('');
        expect(params(message), `${locale} ${key} parameters`).toEqual(params(english[key]!));
        expect(tags(message), `${locale} ${key} markup`).toEqual(tags(english[key]!));
      }
    });
  }

  it('uses every key (a counted key by its base name)', () => {
    const unused = keys.filter((key) => {
      const names = [key, key.replace(/\.(one|other)$/, '')];
      return !names.some((name) => allText.includes(`'${name}'`));
    });
    expect(unused).toEqual([]);
  });

  it('knows every key the templates name', () => {
    const missing: string[] = [];
    for (const { file, text } of sources.filter((s) => s.file.endsWith('.eta'))) {
      for (const m of text.matchAll(/\b(t|th|tp)\(\s*'([^']+)'/g)) {
        const key = m[1] === 'tp' ? `${m[2]}.one` : m[2]!;
        if (!(key in english)) missing.push(`${file}: ${m[2]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('fills parameters, escapes them in HTML, and counts', () => {
    const { t, th, tp } = translator('de');
    expect(t('login.lead', { client: 'A & B' })).toBe('um mit <strong>A & B</strong> fortzufahren');
    expect(th('login.lead', { client: '<b>&' })).toBe('um mit <strong>&lt;b&gt;&amp;</strong> fortzufahren');
    expect(tp('security.recoveryLeft', 1)).toBe('Sie haben 1 unbenutzten Wiederherstellungscode.');
    expect(tp('security.recoveryLeft', 7)).toBe('Sie haben 7 unbenutzte Wiederherstellungscodes.');
    expect(() => (translator('en').t as (k: string) => string)('no.such.key')).toThrow('no message "no.such.key"');
  });
});

// Every field any page reads, so that each page renders every branch it has with a value.
const PAGE_DATA = {
  uid: 'u1',
  csrf: 'c',
  clientName: 'Notes',
  email: 'ada@example.test',
  error: 'an error',
  errorFor: 'email',
  message: 'a message',
  heading: 'a heading',
  happened: 'it happened',
  todo: 'do this',
  requestId: 'req-1',
  back: { href: 'https://app.example.test/', name: 'Notes' },
  links: { forgotPassword: '/password/forgot', signup: '/signup' },
  scriptNonce: 'nonce',
  scopes: [{ title: 'a scope', detail: 'its detail' }],
  unreviewed: true,
  userCode: 'WDJB-MJHT',
  action: '/device',
  xsrf: 'x',
  code: '',
  issuer: 'https://id.example.test',
  discovery: 'https://id.example.test/.well-known/openid-configuration',
  development: true,
  form: '<form id="op.logoutForm" method="post"></form>',
  linkHref: '/',
  linkText: 'a link',
  token: 't',
  minLength: 12,
  returnTo: 'u1',
  submit: 'submit',
  factors: [{ name: 'totp' }, { name: 'passkey', options: '{}' }, { name: 'recovery' }],
  codes: ['aaaa-bbbb'],
  notice: 'a notice',
  qr: '<svg></svg>',
  secret: 'JBSWY3DP',
  enrolment: 'e',
  totp: { createdAt: '2026-12-04T00:00:00.000Z' },
  recoveryCodes: 1,
  done: 'done',
  passkeys: [{ id: 'p1', name: 'Phone', createdAt: new Date(0), lastUsedAt: new Date(0), deviceType: 'multiDevice' }],
  nameMax: 64,
  backHref: '/account',
  emailVerified: false,
  canVerify: true,
  sections: [{ title: 'account.section.passkeys', description: 'account.section.passkeys.detail', href: '/p' }],
  sessions: [{ uid: 's1', current: true, signedInAt: '2026-12-04 13:16 UTC', methods: 'password' }],
  apps: [{ clientId: 'c1', name: 'Notes', scopes: [{ title: 'a scope' }], grantedAt: '2026-12-04 13:16 UTC' }],
};
const PAGES = readdirSync(join(ROOT, 'views'))
  .filter((f) => f.endsWith('.eta') && readFileSync(join(ROOT, 'views', f), 'utf8').includes("layout('layout'"))
  .map((f) => f.slice(0, -'.eta'.length));

describe('every page and mail', () => {
  it.each(PAGES)('%s renders in every locale, with its <html lang>', (view) => {
    const rendered = LOCALES.map((locale) => {
      const html = renderView(view, { name: 'Tessera', logoUrl: undefined }, PAGE_DATA, locale);
      expect(html).toContain(`<html lang="${locale}">`);
      return html;
    });
    expect(new Set(rendered).size).toBe(LOCALES.length);
  });

  it.each(['password-reset', 'email-verification', 'invitation', 'password-changed'] as const)(
    '%s renders in every locale',
    (template) => {
      const data = {
        email: 'ada@example.test',
        link: 'https://id.example.test/x',
        forgotLink: 'https://f',
        validHours: 48,
        validMinutes: 30,
      };
      const [en, de] = LOCALES.map((locale) =>
        renderMail(template, { name: 'Tessera', logoUrl: undefined }, 'a@b', data, locale),
      );
      expect(de!.html).toContain('<html lang="de">');
      expect(de!.subject).not.toBe(en!.subject);
      expect(de!.text).not.toBe(en!.text);
    },
  );
});

describe('choosing the locale', () => {
  it('takes ui_locales first, in its order, by primary language', () => {
    expect(negotiate('fr de-CH en', 'en')).toBe('de');
    expect(negotiate('en de', 'de')).toBe('en');
    expect(negotiate('fr', 'de-DE,de;q=0.9')).toBe('de');
  });

  it('then the Accept-Language preferred most, by q', () => {
    expect(fromAcceptLanguage('fr-FR, de;q=0.8, en;q=0.7')).toBe('de');
    expect(fromAcceptLanguage('en;q=0.5, de;q=0.9')).toBe('de');
    expect(fromAcceptLanguage('de;q=0, en;q=0.1')).toBe('en');
    expect(fromAcceptLanguage('*')).toBeUndefined();
  });

  it('else English', () => {
    expect(negotiate(undefined, undefined)).toBe('en');
    expect(negotiate(['de'], 'x'.repeat(600))).toBe('en');
  });
});
