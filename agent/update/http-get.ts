// One HTTP(S) GET with a connect timeout and an idle timeout, bound to an AbortSignal. The
// caller reads the body; download.ts adds resume, retries and verification on top.

import type { IncomingMessage } from 'node:http';
import { CodedError } from '../../common/errors.ts';

export interface GetOptions {
  headers: Record<string, string>;
  /** PEM trust anchors for https; undefined → the system store. */
  ca: Buffer | undefined;
  allowHttp: boolean;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  signal: AbortSignal;
}

/** Starts a GET and resolves with the response once its headers arrived. */
export async function httpGet(url: string, options: GetOptions): Promise<IncomingMessage> {
  const parsed = parseUrl(url, options.allowHttp);
  // Loaded with the first download, not at start: node:http/https cost an idle agent ~10 MiB.
  const [http, https] = await Promise.all([import('node:http'), import('node:https')]);
  return new Promise<IncomingMessage>((resolve, reject) => {
    const common = { method: 'GET', headers: options.headers, signal: options.signal };
    const req =
      parsed.protocol === 'https:'
        ? https.request(parsed, { ...common, ...(options.ca === undefined ? {} : { ca: options.ca }) })
        : http.request(parsed, common);
    const connectTimer = setTimeout(() => {
      req.destroy(new CodedError('DOWNLOAD_CONNECT_TIMEOUT', `no connection to ${parsed.host} within ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);
    req.on('socket', (socket) => {
      socket.once(parsed.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    // Idle: no byte in either direction for this long (covers a stalled body as well).
    req.setTimeout(options.idleTimeoutMs, () => {
      req.destroy(new CodedError('DOWNLOAD_IDLE_TIMEOUT', `no data from ${parsed.host} for ${options.idleTimeoutMs} ms`));
    });
    req.once('response', (res) => {
      clearTimeout(connectTimer);
      resolve(res);
    });
    req.once('error', (err) => {
      clearTimeout(connectTimer);
      reject(err);
    });
    req.once('close', () => clearTimeout(connectTimer));
    req.end();
  });
}

/** Parses a bundle URL; http only when allowed, never a placeholder AWS failed to replace. */
export function parseUrl(url: string, allowHttp: boolean): URL {
  if (url.startsWith('${aws:iot:s3-presigned-url:')) {
    throw new CodedError('URL_NOT_PRESIGNED', 'bundle.url still holds the presigned-URL placeholder (the job has no --presigned-url-config?)');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CodedError('URL_INVALID', 'bundle.url is not a URL');
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && allowHttp) return parsed;
  throw new CodedError('URL_INSECURE', `bundle.url scheme ${parsed.protocol} is not allowed (https only unless agent.update.allowHttp)`);
}
