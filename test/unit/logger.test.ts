// The logger's redaction list: credentials never reach the output, wherever Tessera logs them.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.ts';

describe('logger redaction', () => {
  it('redacts credentials at the top level, in errors, parameters, bodies and headers', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => lines.push(s) } as never });
    const err = Object.assign(new Error('boom'), { client_secret: 'SECRET-1' });
    logger.info(
      {
        password: 'SECRET-2',
        access_token: 'SECRET-3',
        err,
        params: { code: 'SECRET-4', code_verifier: 'SECRET-5', client_id: 'visible-client' },
        body: { refresh_token: 'SECRET-6' },
        req: { headers: { authorization: 'Basic SECRET-7', cookie: 'sid=SECRET-8' } },
      },
      'with secrets',
    );
    const out = lines.join('');
    for (let i = 1; i <= 8; i++) expect(out).not.toContain(`SECRET-${i}`);
    expect(out).toContain('visible-client');
    expect(out).toContain('[redacted]');
  });
});
