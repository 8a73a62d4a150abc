// The HTTPS file server behind presigned URLs, on 127.0.0.1 with a certificate of the
// emulator's PKI. Like S3: 403 AccessDenied once a URL expired, ETag, Range (206, 416) and
// If-Range, so a downloader's resume logic meets the same answers it would from S3.

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { readFile, stat } from 'node:fs/promises';
import type { Clock } from '../../common/clock.ts';
import { isErrno } from '../../common/errors.ts';
import { verifyQuery, isSafeObject, type S3Object } from './presign.ts';
import { etagOf, objectFile } from './store.ts';

export interface FileServerOptions {
  root: string; secret: Buffer; clock: Clock; certPath: string; keyPath: string; port?: number;
  /** Caps each response's rate, to imitate a slow link (the demo's download progress). */
  bytesPerSecond?: number | undefined;
}
export interface FileServer { port: number; baseUrl: string; close(): Promise<void> }

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function objectOfPath(pathname: string): S3Object | undefined {
  const parts = pathname.split('/').slice(1).map((p) => { try { return decodeURIComponent(p); } catch { return ''; } });
  const [bucket, ...key] = parts;
  if (!bucket || key.length === 0) return undefined;
  const o = { bucket, key: key.join('/') };
  return isSafeObject(o) ? o : undefined;
}

/** Parses a single `bytes=` range against `size`: a range, 'unsatisfiable', or undefined (serve all). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

async function serve(req: IncomingMessage, res: ServerResponse, opts: FileServerOptions): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return s3Error(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  const url = new URL(req.url ?? '/', 'https://127.0.0.1');
  const o = objectOfPath(url.pathname);
  if (!o) return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
  const verdict = verifyQuery(opts.secret, o, url.searchParams, opts.clock.now());
  if (verdict === 'expired') return s3Error(res, 403, 'AccessDenied', 'Request has expired');
  if (verdict === 'bad-signature') return s3Error(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  const file = objectFile(opts.root, o);
  let size: number;
  let mtime: Date;
  try {
    const info = await stat(file);
    size = info.size;
    mtime = info.mtime;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    throw err;
  }
  const etag = await etagOf(file);
  const lastModified = mtime.toUTCString();
  const headers: Record<string, string | number> = { 'Accept-Ranges': 'bytes', ETag: etag, 'Last-Modified': lastModified, 'Content-Type': 'application/octet-stream' };
  const ifRange = req.headers['if-range'];
  const rangeApplies = ifRange === undefined || ifRange === etag || ifRange === lastModified;
  const range = rangeApplies ? parseRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
    res.end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  headers['Content-Length'] = size === 0 ? 0 : end - start + 1;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  const stream = createReadStream(file, { start, end });
  stream.on('error', () => res.destroy());
  if (opts.bytesPerSecond) stream.pipe(throttle(opts.bytesPerSecond)).pipe(res);
  else stream.pipe(res);
}

// Passes chunks on no faster than `rate` bytes per second (in slices of about 50 ms).
function throttle(rate: number): Transform {
  const slice = Math.max(1024, Math.floor(rate / 20));
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const push = async (): Promise<void> => {
        for (let at = 0; at < chunk.length; at += slice) {
          const wait = started + ((sent * 1000) / rate) - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const part = chunk.subarray(at, at + slice);
          sent += part.length;
          this.push(part);
        }
      };
      push().then(() => done(), done);
    },
  });
}

/** Starts the file server on 127.0.0.1 (a free port unless `port` is given). */
export async function startFileServer(opts: FileServerOptions): Promise<FileServer> {
  const [cert, key] = await Promise.all([readFile(opts.certPath), readFile(opts.keyPath)]);
  const server: Server = createServer({ cert, key }, (req, res) => {
    serve(req, res, opts).catch(() => { if (!res.headersSent) s3Error(res, 500, 'InternalError', 'We encountered an internal error.'); else res.destroy(); });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    baseUrl: `https://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
