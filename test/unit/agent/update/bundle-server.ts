// A small HTTPS bundle server for download tests: ETag, Range + If-Range, and switches to cut a
// transfer, expire a token, or fail a request, so each resume path can be driven on purpose.

import { createServer, type Server } from 'node:https';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface ServerControl {
  url(token?: string): string;
  ca: Buffer;
  /** Body bytes sent so far. */
  sent: number;
  requests: Array<{ range: string | undefined; ifRange: string | undefined; status: number }>;
  /** Destroy the next response's socket after this many body bytes. */
  cutAfter: number | undefined;
  /** Tokens the server accepts (others → 403). */
  validTokens: Set<string>;
  /** Status to answer the next request with, once. */
  failNext: number | undefined;
  etag: string;
  close(): Promise<void>;
}

/** Self-signed cert for 127.0.0.1 in `dir`. */
export function makeCert(dir: string): { cert: Buffer; key: Buffer } {
  const key = join(dir, 'srv.key');
  const cert = join(dir, 'srv.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

/** Serves `body` at /bundle on 127.0.0.1. */
export async function startBundleServer(dir: string, body: Buffer): Promise<ServerControl> {
  const { cert, key } = makeCert(dir);
  const control: ServerControl = {
    url: (token = 'good') => `https://127.0.0.1:${(server.address() as AddressInfo).port}/bundle?token=${token}`,
    ca: cert, sent: 0, requests: [], cutAfter: undefined, validTokens: new Set(['good']), failNext: undefined, etag: '"v1"',
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  const server: Server = createServer({ cert, key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    const range = req.headers.range;
    const ifRange = req.headers['if-range'] as string | undefined;
    const answer = (status: number): void => { control.requests.push({ range, ifRange, status }); };
    if (control.failNext !== undefined) {
      answer(control.failNext);
      res.writeHead(control.failNext).end();
      control.failNext = undefined;
      return;
    }
    if (!control.validTokens.has(url.searchParams.get('token') ?? '')) {
      answer(403);
      res.writeHead(403).end('expired');
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m && (ifRange === undefined || ifRange === control.etag)) start = Number(m[1]);
    if (start > body.length) {
      answer(416);
      res.writeHead(416).end();
      return;
    }
    const status = start > 0 ? 206 : 200;
    answer(status);
    const headers: Record<string, string | number> = { etag: control.etag, 'content-length': body.length - start, 'accept-ranges': 'bytes' };
    if (status === 206) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(status, headers);
    const slice = body.subarray(start);
    const cut = control.cutAfter;
    if (cut !== undefined && cut < slice.length) {
      control.cutAfter = undefined;
      control.sent += cut;
      res.write(slice.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    control.sent += slice.length;
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return control;
}
