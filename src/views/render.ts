// Server-rendered pages: Eta templates in views/, HTML-escaped by default (<%= %>), inside one
// layout. The brand (product name, logo) comes from configuration; the words from the message
// catalog (i18n/) in the page's locale: templates call t('key', params) (text, escaped by
// <%= %>), th('key', params) (the message's own markup, for <%~ %>) and tp('key', count), and
// keepLanguage(href) for a link or form action that stays in the page's language.
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { languageQuery } from '../i18n/locale.ts';
import { DEFAULT_LOCALE, type Locale, translator } from '../i18n/messages.ts';

export const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));

export interface Brand {
  name: string;
  logoUrl: string | undefined;
}

/** Prepended to every compiled template: the translator's functions as plain names. */
export const TEMPLATE_HEADER = 'const t = it.t, th = it.th, tp = it.tp, keepLanguage = it.keepLanguage;';

const eta = new Eta({
  views: VIEWS_DIR,
  cache: true,
  autoEscape: true,
  autoTrim: false,
  functionHeader: TEMPLATE_HEADER,
});

/** What every template gets besides its data: the brand, `lang` and the translator. */
export function templateGlobals(brand: Brand, locale: Locale) {
  const { t, th, tp } = translator(locale);
  const query = languageQuery(locale);
  const keepLanguage = (href: string) => (query ? `${href}${href.includes('?') ? '&' : '?'}${query}` : href);
  return { brand, lang: locale, t, th, tp, keepLanguage };
}

/** A page of views/ in `locale` (English unless given: pages that are English only, e.g. /admin). */
export function renderView(
  name: string,
  brand: Brand,
  data: Record<string, unknown>,
  locale: Locale = DEFAULT_LOCALE,
): string {
  return eta.render(name, { ...data, ...templateGlobals(brand, locale) });
}
