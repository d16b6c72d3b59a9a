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

  it('keeps error codes but not a code that could be an authorization code', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => lines.push(s) } as never });
    const authorizationCode = 'Xq3vT0aB7-kLmN9pQrStUvWxYz0123456789abcdEFG';
    logger.error({ err: Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }) }, 'cannot listen');
    logger.error({ err: Object.assign(new Error('unique'), { code: 'P2002' }), details: { code: '23505' } }, 'db');
    logger.info({ code: 'ERR_INVALID_URL', status: 400 }, 'top level');
    logger.info({ code: authorizationCode, params: { code: 'SECRET-9' } }, 'authorization code');
    logger.info({ err: Object.assign(new Error('x'), { code: 'a short lowercase code' }) }, 'not an error code');
    const [listen, db, top, auth, lower] = lines.map((l) => JSON.parse(l));
    expect(listen.err.code).toBe('EADDRINUSE');
    expect([db.err.code, db.details.code]).toEqual(['P2002', '23505']);
    expect(top.code).toBe('ERR_INVALID_URL');
    expect([auth.code, auth.params.code]).toEqual(['[redacted]', '[redacted]']);
    expect(lower.err.code).toBe('[redacted]');
  });
});
