// Certificates for the mutual-TLS tests, made with the openssl CLI in a folder of their own: a
// P-256 key and a certificate, self-signed or issued by a CA made the same way.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  cert: string;
  key: string;
}

export interface CertificateOptions {
  /** The name of an earlier certificate of this maker's that issues this one; self-signed without. */
  ca?: string;
  san?: string;
  isCa?: boolean;
}

/** A maker of certificates in a new temporary folder; `file(name)` is a path in that folder. */
export function certificateMaker(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  function certificate(name: string, subject: string, options: CertificateOptions = {}): Pem {
    const ext = file(`${name}.ext`);
    writeFileSync(
      ext,
      [
        options.isCa ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign' : 'basicConstraints=CA:FALSE',
        ...(options.san ? [`subjectAltName=${options.san}`] : []),
      ].join('\n'),
    );
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    );
    if (options.ca) {
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${options.ca}.pem`,
        '-CAkey',
        `${options.ca}.key`,
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        ext,
        '-out',
        `${name}.pem`,
      );
    } else {
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-signkey',
        `${name}.key`,
        '-days',
        '2',
        '-extfile',
        ext,
        '-out',
        `${name}.pem`,
      );
    }
    return { cert: readFileSync(file(`${name}.pem`), 'utf8'), key: readFileSync(file(`${name}.key`), 'utf8') };
  }
  return { dir, file, openssl, certificate };
}
