// Ids that start with a dash. Grant ids, session ids and other ids oidc-provider makes are
// base64url, so about one in 32 starts with `-`; commander reads such a word as an option and
// refuses it ("unknown option '-R4aJ…'"), so an id printed by `grants list` could not be passed
// to `grants revoke` without a `--` before it.
//
// Before commander parses, a word that starts with a single dash, is longer than any cluster of
// this CLI's short flags, and is no option of the command it is given to, is taken for what it
// is: an operand. The command's words are then rewritten as its options followed by `--` and its
// operands, in their order, which commander reads as meant. Nothing changes for a command line
// without such a word, and `--` written by the caller keeps its meaning.
import type { Command, Option } from 'commander';

// No short-flag cluster of this CLI comes near this length; an id is far longer (21+ characters).
const MIN_ID_LENGTH = 16;
const ID_LIKE = /^-[A-Za-z0-9_-]+$/;

/** Where the words of the command that `words` (argv without node and the script) runs start, and its options (with its parents'). */
function resolve(program: Command, words: readonly string[]): { start: number; options: Option[] } {
  let command = program;
  const options = [...program.options];
  let i = 0;
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (word.startsWith('-')) {
      // An option before the subcommand (e.g. the global --json): skip it and a value it takes.
      const option = options.find((o) => o.short === word || o.long === word);
      if (!option) break;
      if (option.required || option.optional) i++;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    command = sub;
    options.push(...sub.options);
  }
  return { start: i, options };
}

/** `argv` (as process.argv) with dash-led ids moved behind a `--`, or argv itself if it has none. */
export function dashLedIdsAsOperands(program: Command, argv: readonly string[]): string[] {
  const [node, script, ...words] = argv;
  const { start, options } = resolve(program, words);
  const isOption = (word: string) => {
    const name = word.includes('=') ? word.slice(0, word.indexOf('=')) : word;
    return options.find((o) => o.short === name || o.long === name);
  };
  const leading = words.slice(0, start);
  const optionWords: string[] = [];
  const operands: string[] = [];
  let moved = false;
  for (let i = start; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--') {
      operands.push(...words.slice(i + 1));
      break;
    }
    const option = isOption(word);
    if (option) {
      optionWords.push(word);
      if ((option.required || option.optional) && !word.includes('=') && i + 1 < words.length)
        optionWords.push(words[++i]!);
      continue;
    }
    if (word.startsWith('-') && !(word.length >= MIN_ID_LENGTH && ID_LIKE.test(word))) {
      optionWords.push(word); // an unknown option: commander says so
      continue;
    }
    if (word.startsWith('-')) moved = true;
    operands.push(word);
  }
  if (!moved) return [...argv];
  return [node!, script!, ...leading, ...optionWords, '--', ...operands];
}
