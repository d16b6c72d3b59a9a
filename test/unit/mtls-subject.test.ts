// Matching a certificate's subject against a tls_client_auth registration (RFC 8705 §2.1.2).
import { describe, expect, it } from 'vitest';
import { sameDn } from '../../src/oidc/mtls.ts';

describe('sameDn', () => {
  it("matches RFC 4514 text against the certificate's subject, in reverse order", () => {
    expect(sameDn('C=SE\nO=Example\nCN=billing', 'CN=billing,O=Example,C=SE')).toBe(true);
    expect(sameDn('C=SE\nO=Example\nCN=billing', 'cn=billing, o=Example, c=SE')).toBe(true);
  });

  it('refuses another value, a missing or extra RDN, and the wrong order', () => {
    expect(sameDn('C=SE\nO=Example\nCN=billing', 'CN=Billing,O=Example,C=SE')).toBe(false);
    expect(sameDn('C=SE\nO=Example\nCN=billing', 'CN=billing,O=Example')).toBe(false);
    expect(sameDn('O=Example\nCN=billing', 'CN=billing,O=Example,C=SE')).toBe(false);
    expect(sameDn('C=SE\nO=Example\nCN=billing', 'C=SE,O=Example,CN=billing')).toBe(false);
  });

  it('unescapes commas in values', () => {
    expect(sameDn('O=Example, Inc.\nCN=billing', 'CN=billing,O=Example\\, Inc.')).toBe(true);
  });
});
