// Runs one pass over a bundle stream: the byte stages feed the tar reader while the head
// and then the caller's payload consumer pull entries from it. Whichever side fails first
// decides the refusal; the other side is stopped.

import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Manifest } from './manifest-types.ts';
import { BundleError, asBundleError } from './errors.ts';
import { readHead, type BundleHead } from './head.ts';
import { ARCHIVE_SLACK, MAX_SIGNATURE_BYTES, PER_ENTRY_OVERHEAD, resolveLimits, type BundleLimits } from './limits.ts';
import { tarBytes, zlibRefusal, type StreamStats } from './source.ts';
import { TarReader } from './tar-reader.ts';
import type { TrustStore } from './trust.ts';

export type BundleSource = Readable | AsyncIterable<Uint8Array>;

export interface ReadOptions {
  trust: TrustStore | undefined;
  limits?: Partial<BundleLimits> | undefined;
  signal?: AbortSignal | undefined;
  deviceType?: string | undefined;
}

export interface ReadResult {
  head: BundleHead;
  stats: StreamStats;
}

/** What comes after the head: read the payload, or stop reading (`bundle inspect`). */
export type PayloadConsumer = ((reader: TarReader, head: BundleHead) => Promise<void>) | 'stop';

const STOPPED = new Error('stopped after the head');

/** Reads `source` once: head (signature, manifest, compatibility), then `consume`. */
export async function readBundle(source: BundleSource, options: ReadOptions, consume: PayloadConsumer): Promise<ReadResult> {
  const limits = resolveLimits(options.limits);
  const stats: StreamStats = { inputBytes: 0, tarBytes: 0, compressed: false, tarLimit: limits.maxBundleBytes };
  const reader = new TarReader();
  const stop = new AbortController();
  let failure: BundleError | undefined;
  const fail = (err: unknown): void => {
    if (failure || err === STOPPED) return;
    failure = reader.failure ?? refusalOf(err, options.signal); // the reader may have failed first, from inside the parser
    reader.fail(failure);
    stop.abort(failure);
  };
  const onAbort = (): void => fail(options.signal?.reason);
  if (options.signal?.aborted) {
    if (source instanceof Readable) source.destroy();
    throw refusalOf(options.signal.reason, options.signal);
  }
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let head: BundleHead | undefined;
  const input = source instanceof Readable ? source : Readable.from(source);
  const pumping = pipeline(input, tarBytes(stats), (chunks: AsyncIterable<Buffer>) => reader.pump(chunks), {
    signal: stop.signal,
  }).catch((err: unknown) => fail(stop.signal.reason === STOPPED ? STOPPED : err));
  const consuming = (async () => {
    head = await readHead(reader, { trust: options.trust, limits, deviceType: options.deviceType });
    stats.tarLimit = Math.min(stats.tarLimit, tarBound(head.manifest, limits));
    if (consume === 'stop') {
      reader.stop();
      stop.abort(STOPPED);
    } else {
      await consume(reader, head);
    }
  })().catch(fail);
  await Promise.all([consuming, pumping]);
  options.signal?.removeEventListener('abort', onAbort);
  if (failure) throw failure;
  if (!head) throw new BundleError('BUNDLE_IO_ERROR', 'the bundle was not read'); // unreachable: no failure means a head
  return { head, stats };
}

// The most tar bytes a bundle with this manifest can hold; more is a bomb or junk.
function tarBound(manifest: Manifest, limits: BundleLimits): number {
  let declared = 0;
  let bound = limits.maxManifestBytes + MAX_SIGNATURE_BYTES + 2 * PER_ENTRY_OVERHEAD + ARCHIVE_SLACK;
  for (const file of manifest.files) {
    const size = file.type === 'file' ? file.size : 0;
    declared += size;
    bound += PER_ENTRY_OVERHEAD + Math.ceil(size / 512) * 512;
  }
  if (declared > limits.maxBundleBytes) {
    throw new BundleError('BUNDLE_TOO_LARGE', `the manifest declares ${declared} bytes of files, more than the limit of ${limits.maxBundleBytes}`, {
      declared,
      limit: limits.maxBundleBytes,
    });
  }
  return bound;
}

function refusalOf(err: unknown, signal: AbortSignal | undefined): BundleError {
  if (err instanceof BundleError) return err;
  const zlib = zlibRefusal(err);
  if (zlib) return zlib;
  if (signal?.aborted) return new BundleError('BUNDLE_ABORTED', 'aborted', {}, { cause: signal.reason });
  return asBundleError(err);
}
