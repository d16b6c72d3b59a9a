// The message catalog's reader: every sentence a person sees on Tessera's pages and in its mail
// is a key of the English catalog (en.ts); each other locale (de.ts) has a string for every key,
// which the compiler checks (a missing or extra key does not build) and test/unit/i18n-catalog
// checks again (no key unused, none referenced that does not exist).
//
// Messages name their parameters in braces: 'Sign in to {client}'. `t` fills them in as text
// (templates escape it with <%= %>); `th` escapes the parameters and keeps the message's own
// markup (<strong>, <code>: the catalog is Tessera's code, never input), for <%~ %>. Counted
// messages are two keys, `<key>.one` and `<key>.other`, chosen by `tp` with Intl.PluralRules.
import { de } from './de.ts';
import { en } from './en.ts';

export const LOCALES = ['en', 'de'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';

export type MessageKey = keyof typeof en;
export type Catalog = Record<MessageKey, string>;

const CATALOGS: Record<Locale, Catalog> = { en, de };

/** The names in a message's braces: 'Try again in {minutes} minute(s)' → 'minutes'. */
type ParamNames<S extends string> = S extends `${string}{${infer P}}${infer Rest}` ? P | ParamNames<Rest> : never;
export type Params<K extends MessageKey> = Record<ParamNames<(typeof en)[K]>, string | number>;
/** A key's parameters, required exactly when its English message has some. */
type Args<K extends MessageKey> = [ParamNames<(typeof en)[K]>] extends [never] ? [] : [params: Params<K>];

/** The keys whose messages take no parameters (what a table of messages holds, say). */
export type PlainKey = { [K in MessageKey]: Args<K> extends [] ? K : never }[MessageKey];

/** The keys counted by `tp`: both `<base>.one` and `<base>.other` exist. */
type PluralBase = {
  [K in MessageKey]: K extends `${infer B}.one` ? (`${B}.other` extends MessageKey ? B : never) : never;
}[MessageKey];

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

function fill(locale: Locale, key: string, params: Record<string, string | number> | undefined, html: boolean) {
  const message = (CATALOGS[locale] as Record<string, string>)[key];
  // A key not in the catalog is a bug in a template or route: loud in tests, never a blank page
  // element a translator would miss.
  if (message === undefined) throw new Error(`no message "${key}" in the catalog`);
  return message.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`message "${key}" needs the parameter "${name}"`);
    return html ? escapeHtml(String(value)) : String(value);
  });
}

export interface Translator {
  locale: Locale;
  /** The message as text (escape it where it goes into HTML). */
  t<K extends MessageKey>(key: K, ...args: Args<K>): string;
  /** The message as HTML: its own markup kept, its parameters escaped. */
  th<K extends MessageKey>(key: K, ...args: Args<K>): string;
  /** `<base>.one` or `<base>.other` for `count`, with {count} and any other parameters. */
  tp(base: PluralBase, count: number, params?: Record<string, string | number>): string;
}

const translators = new Map<Locale, Translator>();

export function translator(locale: Locale): Translator {
  let found = translators.get(locale);
  if (!found) {
    const plural = new Intl.PluralRules(locale);
    found = {
      locale,
      t: (key, ...args) => fill(locale, key, args[0] as Record<string, string | number> | undefined, false),
      th: (key, ...args) => fill(locale, key, args[0] as Record<string, string | number> | undefined, true),
      tp: (base, count, params) =>
        fill(locale, `${base}.${plural.select(count) === 'one' ? 'one' : 'other'}`, { ...params, count }, false),
    };
    translators.set(locale, found);
  }
  return found;
}

/**
 * A sentence decided where no request is at hand (a factor's check, say), put into words by
 * whoever answers the request, in its locale.
 */
export type Message = (tr: Translator) => string;

/** The catalogs, for the completeness test. */
export const catalogs: Readonly<Record<Locale, Catalog>> = CATALOGS;
