// src/cli/operands.ts: an id that starts with a dash (oidc-provider's base64url ids, about one in
// 32) reaches the command as an operand, wherever it stands among the options.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { dashLedIdsAsOperands } from '../../src/cli/operands.ts';

const ID = '-R4aJCWZegH_iFuMC50cnk-c-oJtqJ4FW-vD8sCVlKT';

/** A program shaped like the CLI; returns what `grants revoke` or `roles assign` received, or the error. */
function parse(words: string[], rewrite = true) {
  let seen: unknown;
  const program = new Command('tessera')
    .option('--json')
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  const grants = program.command('grants');
  grants
    .command('revoke <grant_id>')
    .option('--forget-consent')
    .action((id: string, opts: object) => {
      seen = { id, opts, json: program.opts().json === true };
    });
  program
    .command('assign <role> <user>')
    .option('--organization <id>')
    .action((role: string, user: string, opts: object) => {
      seen = { role, user, opts };
    });
  const argv = ['node', 'tessera', ...words];
  try {
    program.parse(rewrite ? dashLedIdsAsOperands(program, argv) : argv);
  } catch (err) {
    return { error: (err as Error).message };
  }
  return seen;
}

describe('dash-led ids on the command line', () => {
  it('without the rewrite, commander refuses such an id (what this fixes)', () => {
    expect(parse(['grants', 'revoke', ID], false)).toEqual({ error: `error: unknown option '${ID}'` });
  });

  it('reaches the command as its operand, before or after its options, with the global ones', () => {
    const expected = { id: ID, opts: { forgetConsent: true }, json: true };
    expect(parse(['--json', 'grants', 'revoke', ID, '--forget-consent'])).toEqual(expected);
    expect(parse(['--json', 'grants', 'revoke', '--forget-consent', ID])).toEqual(expected);
    expect(parse(['grants', 'revoke', ID, '--json', '--forget-consent'])).toEqual(expected);
  });

  it('keeps operands in their order and option values with their options', () => {
    expect(parse(['assign', ID, 'user@example.test', '--organization', '-orgIdThatIsLongEnough'])).toEqual({
      role: ID,
      user: 'user@example.test',
      opts: { organization: '-orgIdThatIsLongEnough' },
    });
    expect(parse(['assign', 'admin', ID, '--organization=acme'])).toEqual({
      role: 'admin',
      user: ID,
      opts: { organization: 'acme' },
    });
  });

  it('changes nothing else: plain ids, unknown options, and an explicit --', () => {
    expect(parse(['grants', 'revoke', 'plainId'])).toEqual({ id: 'plainId', opts: {}, json: false });
    expect(parse(['grants', 'revoke', 'plainId', '--forget-consnt'])).toEqual({
      error: "error: unknown option '--forget-consnt'\n(Did you mean --forget-consent?)",
    });
    expect(parse(['grants', 'revoke', '-x'])).toEqual({ error: "error: unknown option '-x'" });
    expect(parse(['grants', 'revoke', '--', ID])).toEqual({ id: ID, opts: {}, json: false });
    const argv = ['node', 'tessera', 'grants', 'revoke', 'plainId'];
    expect(dashLedIdsAsOperands(new Command(), argv)).toEqual(argv);
  });
});
