// What a new password must be (NIST SP 800-63B §3.1.1.2): long enough (PASSWORD_MIN_LENGTH,
// default 12), at most PASSWORD_MAX, and not guessable — checked with zxcvbn-ts against its
// common-password, name and English word lists, keyboard patterns, dates and repeats, and the
// user's own email and name. No composition rules (SP 800-63B advises against them).
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { InvalidInput } from '../errors.ts';
import { type Message, type PlainKey, translator } from '../i18n/messages.ts';
import { PASSWORD_MAX } from './passwords.ts';

// zxcvbn's score 3: "safely unguessable: moderate protection from offline slow-hash scenario"
// (< 10^10 guesses); 2 is "somewhat guessable" and would admit "Password2024!"-like choices.
const MIN_SCORE = 3;
// zxcvbn's cost grows with length; its authors advise checking a prefix. 100 characters of a
// password are guessed no more easily than the whole.
const CHECKED_PREFIX = 100;

let estimator: Promise<ZxcvbnFactory> | undefined;
// Imported and built on first use: the dictionaries take 1–3 s of CPU to load, which every CLI
// command and every server start paid when they were imported at the top.
const zxcvbn = () =>
  (estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
      import('@zxcvbn-ts/language-en'),
    ]);
    return new ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      // zxcvbn's feedback comes back as Tessera's message keys, put into words in the page's
      // language (i18n/); its time estimates are never shown.
      translations: { ...en.translations, ...FEEDBACK },
    });
  })());

// zxcvbn-ts's feedback names (language-en's translations.ts) → the catalog's keys.
const FEEDBACK = {
  warnings: {
    straightRow: 'password.warning.straightRow',
    keyPattern: 'password.warning.keyPattern',
    simpleRepeat: 'password.warning.simpleRepeat',
    extendedRepeat: 'password.warning.extendedRepeat',
    sequences: 'password.warning.sequences',
    recentYears: 'password.warning.recentYears',
    dates: 'password.warning.dates',
    topTen: 'password.warning.topTen',
    topHundred: 'password.warning.topHundred',
    common: 'password.warning.common',
    similarToCommon: 'password.warning.similarToCommon',
    wordByItself: 'password.warning.wordByItself',
    namesByThemselves: 'password.warning.namesByThemselves',
    commonNames: 'password.warning.commonNames',
    userInputs: 'password.warning.userInputs',
    pwned: 'password.warning.pwned',
  },
  suggestions: {
    l33t: 'password.suggestion.l33t',
    reverseWords: 'password.suggestion.reverseWords',
    allUppercase: 'password.suggestion.allUppercase',
    capitalization: 'password.suggestion.capitalization',
    dates: 'password.suggestion.dates',
    recentYears: 'password.suggestion.recentYears',
    associatedYears: 'password.suggestion.associatedYears',
    sequences: 'password.suggestion.sequences',
    repeated: 'password.suggestion.repeated',
    longerKeyboardPattern: 'password.suggestion.longerKeyboardPattern',
    anotherWord: 'password.suggestion.anotherWord',
    useWords: 'password.suggestion.useWords',
    noNeed: 'password.suggestion.noNeed',
    pwned: 'password.suggestion.pwned',
  },
} satisfies { warnings: Record<string, PlainKey>; suggestions: Record<string, PlainKey> };

const isFeedbackKey = (value: string): value is PlainKey =>
  value.startsWith('password.warning.') || value.startsWith('password.suggestion.');

/**
 * A new password the policy refuses. `problem` says why in the reader's language; the message
 * is the English of it (the CLI's and the admin API's answers).
 */
export class WeakPassword extends InvalidInput {
  readonly problem: Message;
  constructor(problem: Message) {
    super(problem(translator('en')));
    this.problem = problem;
  }
}

/**
 * Throws WeakPassword with a message for the person choosing the password; `context` is what
 * the password must not resemble (the email address, the name).
 */
export async function checkNewPassword(password: string, minLength: number, context: string[] = []): Promise<void> {
  if (password.length < minLength) throw new WeakPassword(({ t }) => t('password.tooShort', { min: minLength }));
  if (password.length > PASSWORD_MAX) throw new WeakPassword(({ t }) => t('password.tooLong', { max: PASSWORD_MAX }));
  const inputs = context.flatMap((c) => [c, ...c.split(/[@.\s_+-]+/)]).filter((c) => c.length >= 3);
  const result = await (await zxcvbn()).check(password.slice(0, CHECKED_PREFIX), inputs);
  if (result.score >= MIN_SCORE) return;
  const hints = [result.feedback.warning, ...result.feedback.suggestions].filter(
    (h): h is PlainKey => typeof h === 'string' && isFeedbackKey(h),
  );
  throw new WeakPassword(({ t }) => [t('password.tooEasy'), ...hints.map((h) => t(h))].join(' '));
}
