import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveRecorded, type Handler, type TestServer } from './http.js';

/** A certificate and its private key, PEM. */
export interface Pem {
  cert: string;
  key: string;
}

/** A private CA made at test time with the openssl CLI; it issues server and client certificates. */
export interface TestCa extends Pem {
  /** A certificate for `names` (DNS names or IP addresses), for a server or a client. */
  issue(commonName: string, options?: { names?: string[]; client?: boolean }): Pem;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a CA (EC P-256) in a temporary directory, removed at once: nothing is left on disk. */
export function makeCa(name = 'axios-client-credentials test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'acc-ca-'));
  try {
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ]);
    const ca = { cert: readFileSync(join(dir, 'ca.crt'), 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') };
    let serial = 1;
    return {
      ...ca,
      issue(commonName, { names = ['localhost', '127.0.0.1'], client = false } = {}) {
        const work = mkdtempSync(join(tmpdir(), 'acc-cert-'));
        try {
          writeFileSync(join(work, 'ca.crt'), ca.cert);
          writeFileSync(join(work, 'ca.key'), ca.key, { mode: 0o600 });
          const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
          const usage = client ? 'clientAuth' : 'serverAuth';
          writeFileSync(
            join(work, 'ext.cnf'),
            `subjectAltName=${san}\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`,
          );
          openssl(work, [
            'req',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:P-256',
            '-nodes',
            '-subj',
            `/CN=${commonName}`,
            '-keyout',
            'leaf.key',
            '-out',
            'leaf.csr',
          ]);
          openssl(work, [
            'x509',
            '-req',
            '-in',
            'leaf.csr',
            '-CA',
            'ca.crt',
            '-CAkey',
            'ca.key',
            '-set_serial',
            String(serial++),
            '-days',
            '2',
            '-extfile',
            'ext.cnf',
            '-out',
            'leaf.crt',
          ]);
          return {
            cert: readFileSync(join(work, 'leaf.crt'), 'utf8'),
            key: readFileSync(join(work, 'leaf.key'), 'utf8'),
          };
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a node:https server on 127.0.0.1 with a free port and a certificate from `ca`; it records every request. */
export function startHttpsServer(ca: TestCa, handler: Handler, options: ServerOptions = {}): Promise<TestServer> {
  return serveRecorded(
    (listener) => createServer({ ...ca.issue('localhost'), ...options }, listener),
    'https',
    handler,
  );
}
