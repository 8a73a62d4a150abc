// Resumable, verified bundle download.
//
// INVARIANTS
// - The partial file and its validator (ETag) live in the agent dir; a resumed request sends
//   Range + If-Range, so a server whose object changed answers 200 and the file restarts at 0
//   instead of mixing two objects.
// - The validator is saved before the first body byte is appended: a partial file never exists
//   without the ETag its bytes came from.
// - The result is returned only after size and sha256 match the job document; a mismatch
//   deletes the partial file so the next attempt cannot reuse bad bytes.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { fullJitter, type BackoffPolicy } from '../../common/backoff.ts';
import type { Clock } from '../../common/clock.ts';
import { writeFileAtomic } from '../../common/durable-file.ts';
import { CodedError, isErrno, messageOf } from '../../common/errors.ts';
import { httpGet } from './http-get.ts';

export interface DownloadSettings {
  ca: Buffer | undefined;
  allowHttp: boolean;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** Failed attempts in a row before the download fails (progress resets the count). */
  retries: number;
  backoff: BackoffPolicy;
  clock: Clock;
  random?: () => number;
}

export interface DownloadRequest {
  url: string;
  sha256: string;
  size: number;
  /** Partial file; `${partPath}.meta.json` holds its validator. */
  partPath: string;
  signal: AbortSignal;
  /** A fresh URL when the current one was refused (expired presigned URL). */
  refreshUrl?: () => Promise<string>;
  onProgress?: (bytes: number) => void;
}

export interface DownloadResult {
  path: string;
  /** Body bytes received over the network in this call (all attempts). */
  bytesFetched: number;
  attempts: number;
  resumedFrom: number;
}

interface Meta { etag: string | null; url: string }

/** SHA-256 of the partial file's first `covered` bytes, kept while bytes are appended. */
interface RunningHash { hash: Hash; covered: number }

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Downloads `req.url` into `req.partPath` until it is complete and verified. */
export async function download(req: DownloadRequest, s: DownloadSettings): Promise<DownloadResult> {
  await mkdir(dirname(req.partPath), { recursive: true });
  let url = req.url;
  let failures = 0;
  let attempts = 0;
  let fetched = 0;
  let refreshes = 0;
  let freshRetry = true;
  const resumedFrom = await sizeOf(req.partPath);
  const running: RunningHash = { hash: createHash('sha256'), covered: 0 };
  for (;;) {
    req.signal.throwIfAborted();
    attempts += 1;
    const before = fetched;
    try {
      fetched += await attempt(req, url, s, running);
      await verify(req, running);
      return { path: req.partPath, bytesFetched: fetched, attempts, resumedFrom };
    } catch (err) {
      req.signal.throwIfAborted();
      const code = codeOf(err);
      if (err instanceof CodedError && code === 'DOWNLOAD_PARTIAL') fetched += Number(err.details['bytes'] ?? 0);
      if (fetched > before) refreshes = 0;
      if (code === 'URL_EXPIRED' && req.refreshUrl && refreshes < 3) {
        refreshes += 1;
        url = await req.refreshUrl();
        continue;
      }
      // Bytes resumed from an earlier run may be torn by a power cut: one clean retry from 0.
      if (code === 'CHECKSUM_MISMATCH' && resumedFrom > 0 && freshRetry) {
        freshRetry = false;
        continue;
      }
      if (err instanceof CodedError && err.details['restart'] === true) await discardPartial(req.partPath);
      if (!retryable(err)) throw err;
      failures = fetched > before ? 1 : failures + 1;
      if (failures > s.retries) throw new CodedError('DOWNLOAD_FAILED', `download failed after ${attempts} attempts: ${messageOf(err)}`, {}, { cause: err });
      await s.clock.sleep(fullJitter(s.backoff, failures - 1, s.random), req.signal);
    }
  }
}

// One request: resume when there is a partial file, append the body; returns body bytes.
async function attempt(req: DownloadRequest, url: string, s: DownloadSettings, running: RunningHash): Promise<number> {
  const have = await sizeOf(req.partPath);
  const meta = await readMeta(req.partPath);
  if (have >= req.size && have > 0) return 0;
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (have > 0 && meta?.etag) {
    headers['range'] = `bytes=${have}-`;
    headers['if-range'] = meta.etag;
  }
  const res = await httpGet(url, { headers, ca: s.ca, allowHttp: s.allowHttp, connectTimeoutMs: s.connectTimeoutMs, idleTimeoutMs: s.idleTimeoutMs, signal: req.signal });
  const start = startOffset(res, have, req.size);
  await writeFileAtomic(`${req.partPath}.meta.json`, JSON.stringify({ etag: headerOf(res, 'etag'), url: redact(url) } satisfies Meta));
  await catchUp(req, running, start);
  return appendBody(res, req, start, running);
}

// Brings the running hash to `start` bytes: reset for a restart at 0, or hash the bytes a
// previous run left (once) before appending to them.
async function catchUp(req: DownloadRequest, running: RunningHash, start: number): Promise<void> {
  if (running.covered === start) return;
  running.hash = createHash('sha256');
  running.covered = 0;
  if (start === 0) return;
  for await (const chunk of createReadStream(req.partPath, { start: 0, end: start - 1, signal: req.signal })) {
    running.hash.update(chunk as Buffer);
    running.covered += (chunk as Buffer).length;
  }
}

// Where the body goes in the file, from the status line; throws for statuses with no body to keep.
function startOffset(res: IncomingMessage, have: number, size: number): number {
  const status = res.statusCode ?? 0;
  if (status === 200) return 0;
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headerOf(res, 'content-range') ?? '');
    if (m === null || Number(m[1]) !== have) return discard(res, new CodedError('DOWNLOAD_BAD_RANGE', `unexpected Content-Range ${headerOf(res, 'content-range')}`, { retry: true }));
    if (m[3] !== '*' && Number(m[3]) !== size) return discard(res, new CodedError('SIZE_MISMATCH', `server size ${m[3]} differs from the document's ${size}`));
    return have;
  }
  if (status === 416) return discard(res, new CodedError('DOWNLOAD_BAD_RANGE', 'range not satisfiable; restarting from 0', { retry: true, restart: true }));
  if (status === 403) return discard(res, new CodedError('URL_EXPIRED', 'download URL refused (403): expired or not authorized', { status }));
  const code = status >= 500 || RETRYABLE_STATUS.has(status) ? 'DOWNLOAD_HTTP_ERROR' : 'DOWNLOAD_REFUSED';
  return discard(res, new CodedError(code, `HTTP ${status} from the bundle server`, { status, retry: code === 'DOWNLOAD_HTTP_ERROR' }));
}

function discard(res: IncomingMessage, err: CodedError): never {
  res.resume();
  throw err;
}

async function appendBody(res: IncomingMessage, req: DownloadRequest, start: number, running: RunningHash): Promise<number> {
  let bytes = 0;
  let total = start;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      total += chunk.length;
      if (total > req.size) return done(new CodedError('SIZE_MISMATCH', `bundle is larger than the document's ${req.size} bytes`));
      running.hash.update(chunk);
      running.covered += chunk.length;
      req.onProgress?.(total);
      done(null, chunk);
    },
  });
  try {
    await pipeline(res, count, createWriteStream(req.partPath, { flags: start === 0 ? 'w' : 'r+', start }), { signal: req.signal });
  } catch (err) {
    // Bytes hashed but maybe not written: the next attempt re-reads what is on disk.
    running.covered = -1;
    if (err instanceof CodedError && err.code === 'SIZE_MISMATCH') await discardPartial(req.partPath);
    if (err instanceof CodedError) throw err;
    throw new CodedError('DOWNLOAD_PARTIAL', `transfer interrupted at ${total} bytes: ${messageOf(err)}`, { bytes, retry: true }, { cause: err });
  }
  return bytes;
}

async function verify(req: DownloadRequest, running: RunningHash): Promise<void> {
  const size = await sizeOf(req.partPath);
  if (size < req.size) throw new CodedError('DOWNLOAD_PARTIAL', `have ${size} of ${req.size} bytes`, { bytes: 0, retry: true });
  let digest: string;
  if (running.covered === size) {
    digest = running.hash.digest('hex');
  } else {
    const hash = createHash('sha256');
    await pipeline(createReadStream(req.partPath), hash, { signal: req.signal });
    digest = hash.digest('hex');
  }
  running.covered = -1;
  if (size !== req.size || digest !== req.sha256) {
    await discardPartial(req.partPath);
    const code = size !== req.size ? 'SIZE_MISMATCH' : 'CHECKSUM_MISMATCH';
    throw new CodedError(code, `bundle ${code === 'SIZE_MISMATCH' ? `size ${size}` : `sha256 ${digest}`} does not match the job document`);
  }
  // The journal moves on to `installing` next: the verified bytes must be on disk before that,
  // or a power cut leaves a torn bundle behind a phase that says it was complete.
  const handle = await open(req.partPath, 'r');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

function codeOf(err: unknown): string {
  return err instanceof CodedError ? (err as CodedError<string>).code : '';
}

function retryable(err: unknown): boolean {
  if (err instanceof CodedError) return err.details['retry'] === true || err.code === 'DOWNLOAD_CONNECT_TIMEOUT' || err.code === 'DOWNLOAD_IDLE_TIMEOUT';
  // Socket-level failures: resets, refused connections, DNS hiccups, TLS aborts mid-stream.
  return err instanceof Error;
}

/** Removes a partial download and its validator. */
export async function discardPartial(partPath: string): Promise<void> {
  await rm(partPath, { force: true });
  await rm(`${partPath}.meta.json`, { force: true });
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
}

async function readMeta(partPath: string): Promise<Meta | undefined> {
  try {
    return JSON.parse(await readFile(`${partPath}.meta.json`, 'utf8')) as Meta;
  } catch {
    return undefined;
  }
}

function headerOf(res: IncomingMessage, name: string): string | null {
  const v = res.headers[name];
  return typeof v === 'string' ? v : null;
}

// Presigned query strings are credentials: never persisted.
function redact(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
