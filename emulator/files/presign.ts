// Presigned URLs: `${aws:iot:s3-presigned-url:<S3 URL>}` placeholders in a job document are
// replaced at every delivery with a fresh URL of the emulator's HTTPS file server, signed with
// an HMAC and valid for the job's presignedUrlConfig.expiresInSec (default 3600) [S16].

import { createHmac, timingSafeEqual } from 'node:crypto';

export interface S3Object { bucket: string; key: string }

const PLACEHOLDER = /\$\{aws:iot:s3-presigned-url:([^}]+)\}/g;

/** Bucket and key of the S3 URL forms AWS accepts (virtual-hosted, path-style, s3://). */
export function parseS3Url(url: string): S3Object | undefined {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (s3?.[1] && s3[2]) return { bucket: s3[1], key: s3[2] };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const host = parsed.hostname;
  const path = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const virtual = /^(.+)\.s3([.-][a-z0-9-]+)?(\.dualstack)?(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.exec(host);
  if (virtual?.[1] && path) return { bucket: virtual[1], key: path };
  if (/^s3([.-][a-z0-9-]+)?(\.dualstack)?(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.test(host)) {
    const slash = path.indexOf('/');
    if (slash > 0 && slash < path.length - 1) return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
  }
  return undefined;
}

/** Checks that a bucket and key name a file inside the store (no `..`, no empty segments). */
export function isSafeObject(o: S3Object): boolean {
  const parts = [o.bucket, ...o.key.split('/')];
  return /^[a-z0-9][a-z0-9.-]{1,62}$/.test(o.bucket) && parts.every((p) => p !== '' && p !== '.' && p !== '..' && !p.includes('\0'));
}

function sign(secret: Buffer, o: S3Object, issued: number, expires: number): string {
  return createHmac('sha256', secret).update(`${o.bucket}/${o.key}\n${issued}\n${expires}`).digest('hex');
}

function amzDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The URL path of an object. */
export function objectPath(o: S3Object): string {
  return `/${encodeURIComponent(o.bucket)}/${o.key.split('/').map(encodeURIComponent).join('/')}`;
}

/** A URL of the file server for `o`, valid for `expiresInSec` from `nowMs`. */
export function presignUrl(baseUrl: string, secret: Buffer, o: S3Object, nowMs: number, expiresInSec: number): string {
  const issued = Math.floor(nowMs / 1000);
  const query = new URLSearchParams({
    'X-Amz-Algorithm': 'TWINSLOT-HMAC-SHA256', 'X-Amz-Date': amzDate(issued), 'X-Amz-Expires': String(expiresInSec),
    'X-Amz-Signature': sign(secret, o, issued, expiresInSec),
  });
  return `${baseUrl}${objectPath(o)}?${query.toString()}`;
}

export type Verdict = 'ok' | 'expired' | 'bad-signature';

/** Whether a request for `o` with `query` is signed and not expired at `nowMs`. */
export function verifyQuery(secret: Buffer, o: S3Object, query: URLSearchParams, nowMs: number): Verdict {
  const date = query.get('X-Amz-Date') ?? '';
  const expires = Number(query.get('X-Amz-Expires'));
  const given = Buffer.from(query.get('X-Amz-Signature') ?? '', 'hex');
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!m || !Number.isInteger(expires)) return 'bad-signature';
  const issued = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
  const expected = Buffer.from(sign(secret, o, issued, expires), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad-signature';
  return nowMs >= (issued + expires) * 1000 ? 'expired' : 'ok';
}

/** The document text with every presigned placeholder filled in for one delivery. */
export function renderPresigned(document: string, sign: (o: S3Object) => string): string {
  return document.replace(PLACEHOLDER, (whole, url: string) => {
    const o = parseS3Url(url);
    return o && isSafeObject(o) ? sign(o) : whole;
  });
}
