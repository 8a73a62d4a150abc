// The byte stage in front of the tar parser: counts what comes in, gunzips when the stream
// starts with the gzip magic, and counts (and bounds) the tar bytes that come out. One
// generator, so each chunk costs few allocations on its way through.

import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BundleError } from './errors.ts';

export interface StreamStats {
  /** Bytes read from the source (compressed, if it is). */
  inputBytes: number;
  /** Bytes of tar after decompression. */
  tarBytes: number;
  compressed: boolean;
  /** Largest tar byte count allowed; lowered once the manifest says what to expect. */
  tarLimit: number;
}

function asBuffer(chunk: unknown): Buffer {
  if (!(chunk instanceof Uint8Array)) throw new TypeError('a bundle source must yield bytes, not strings or objects');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function tooLarge(stats: StreamStats): BundleError {
  return new BundleError('BUNDLE_TOO_LARGE', `more than ${stats.tarLimit} bytes of tar${stats.compressed ? ' after decompression' : ''}`, { limit: stats.tarLimit });
}

/** Source bytes in, tar bytes out (gunzipped if need be), counted into `stats`. */
export function tarBytes(stats: StreamStats): (source: AsyncIterable<unknown>) => AsyncGenerator<Buffer> {
  return async function* stage(source) {
    const it = source[Symbol.asyncIterator]();
    let first = Buffer.alloc(0);
    while (first.length < 2) {
      const next = await it.next();
      if (next.done) break;
      first = Buffer.concat([first, asBuffer(next.value)]);
    }
    stats.inputBytes = first.length;
    stats.compressed = first[0] === 0x1f && first[1] === 0x8b;
    if (stats.compressed) {
      yield* gunzipped(first, it, stats);
      return;
    }
    for (let chunk: Buffer | undefined = first; chunk; ) {
      stats.tarBytes += chunk.length;
      if (stats.tarBytes > stats.tarLimit) throw tooLarge(stats);
      if (chunk.length > 0) yield chunk;
      const next = await it.next();
      chunk = next.done ? undefined : asBuffer(next.value);
      if (chunk) stats.inputBytes += chunk.length;
    }
  };
}

async function* gunzipped(first: Buffer, it: AsyncIterator<unknown>, stats: StreamStats): AsyncGenerator<Buffer> {
  async function* raw(): AsyncGenerator<Buffer> {
    yield first;
    for (let next = await it.next(); !next.done; next = await it.next()) {
      const chunk = asBuffer(next.value);
      stats.inputBytes += chunk.length;
      yield chunk;
    }
  }
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  pipeline(raw(), gunzip, () => undefined); // errors reach us through gunzip
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      stats.tarBytes += chunk.length;
      if (stats.tarBytes > stats.tarLimit) throw tooLarge(stats);
      yield chunk;
    }
  } finally {
    gunzip.destroy();
  }
}

/** A zlib failure as a refusal: a gzip stream that ends early is truncated, anything else corrupt. */
export function zlibRefusal(err: unknown): BundleError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('Z_')) return undefined;
  if (code === 'Z_BUF_ERROR') return new BundleError('BUNDLE_TRUNCATED', 'the gzip stream ends early', {}, { cause: err });
  return new BundleError('BUNDLE_TAR_INVALID', `the gzip stream is corrupt (${(err as Error).message})`, {}, { cause: err });
}
