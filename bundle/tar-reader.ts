// node-tar's Parser behind a pull interface: `pump` feeds it tar bytes with backpressure,
// `next` hands out entries one at a time. The parser's warnings (bad checksum, truncated
// input) and entries it would silently skip become refusals here.

import { once } from 'node:events';
import { Parser } from 'tar/parse';
import type { ReadEntry } from 'tar/read-entry';
import { BundleError } from './errors.ts';

const MAX_META_ENTRY_BYTES = 64 * 1024;

interface Waiter {
  resolve: (entry: ReadEntry | undefined) => void;
  reject: (err: BundleError) => void;
}

/** Reads tar entries from bytes pushed by `pump`. */
export class TarReader {
  readonly #parser: Parser;
  readonly #queue: ReadEntry[] = [];
  #waiter: Waiter | undefined;
  /** The entry last handed out: ended early on failure, so a reader of its body is not left waiting. */
  #current: ReadEntry | undefined;
  #ended = false;
  #sawEndMarker = false;
  #failure: BundleError | undefined;
  readonly #failed = new AbortController();

  constructor() {
    this.#parser = new Parser({ strict: false, zstd: false, brotli: false, maxMetaEntrySize: MAX_META_ENTRY_BYTES });
    this.#parser.on('entry', (entry: ReadEntry) => this.#push(entry));
    this.#parser.on('warn', (code: string, message: string) => this.fail(warningRefusal(code, message)));
    this.#parser.on('ignoredEntry', (entry: ReadEntry) => this.fail(ignoredRefusal(entry)));
    this.#parser.on('meta', (meta: string) => {
      if (metaNameNotUtf8(meta)) this.fail(new BundleError('BUNDLE_NAME_NOT_UTF8', 'a pax or GNU long-name record holds a name that is not valid UTF-8'));
    });
    this.#parser.on('eof', () => {
      this.#sawEndMarker = true;
      this.#end();
    });
    this.#parser.on('end', () => this.#end());
  }

  /** The refusal that stopped reading, if any. */
  get failure(): BundleError | undefined {
    return this.#failure;
  }

  /** True once the end-of-archive marker (two zero blocks) has been read. */
  get complete(): boolean {
    return this.#sawEndMarker;
  }

  /** Feeds tar bytes to the parser; bytes after the end-of-archive marker are padding and skipped. */
  async pump(chunks: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of chunks) {
      if (this.#failure) throw this.#failure;
      if (this.#failed.signal.aborted) return; // stopped
      if (this.#sawEndMarker) continue;
      if (!this.#parser.write(chunk)) await this.#drained();
    }
    if (!this.#sawEndMarker && !this.#failure) this.#parser.end();
  }

  /** The next entry, or undefined at the end of the archive. The caller must read its body to the end. */
  async next(): Promise<ReadEntry | undefined> {
    if (this.#failure) throw this.#failure;
    const queued = this.#queue.shift();
    if (queued || this.#ended) return (this.#current = queued);
    return new Promise<ReadEntry | undefined>((resolve, reject) => {
      this.#waiter = { resolve: (entry) => resolve((this.#current = entry)), reject };
    });
  }

  /** The body of `entry`, chunk by chunk. If the reader fails meanwhile, it ends early (short). */
  body(entry: ReadEntry): AsyncIterable<Buffer> {
    return entry as AsyncIterable<Buffer>;
  }

  /** Stops reading without a failure: `pump` returns at once (the caller has what it wanted). */
  stop(): void {
    this.#failed.abort();
  }

  /** Stops reading with `err`: pending and later calls reject with it. First failure wins. */
  fail(err: BundleError): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#failed.abort(err);
    this.#waiter?.reject(err);
    this.#waiter = undefined;
    // After the parser's current call returns: it may still be writing to this entry.
    const current = this.#current;
    if (current) queueMicrotask(() => current.end());
  }

  #push(entry: ReadEntry): void {
    if (this.#waiter) {
      this.#waiter.resolve(entry);
      this.#waiter = undefined;
    } else {
      this.#queue.push(entry);
    }
  }

  #end(): void {
    this.#ended = true;
    this.#waiter?.resolve(undefined);
    this.#waiter = undefined;
  }

  async #drained(): Promise<void> {
    try {
      await once(this.#parser, 'drain', { signal: this.#failed.signal });
    } catch {
      if (this.#failure) throw this.#failure; // else stopped: the next chunk ends the pump
    }
  }
}

// node-tar decodes pax and GNU long-name records as UTF-8 text (bad bytes become U+FFFD) and
// silently drops a pax record whose length no longer matches, falling back to the ustar name.
// Catch both here: a name record with U+FFFD, or one declared binary (hdrcharset=BINARY).
function metaNameNotUtf8(meta: string): boolean {
  if (!/^\d+ [^=\n]+=/.test(meta)) return meta.includes('\ufffd'); // GNU 'L'/'K' body: the name itself
  return meta.split('\n').some((record) => /^\d+ (hdrcharset=BINARY$|(path|linkpath)=.*\ufffd)/.test(record));
}

function warningRefusal(code: string, message: string): BundleError {
  if (code === 'TAR_BAD_ARCHIVE' && /truncated/i.test(message)) {
    return new BundleError('BUNDLE_TRUNCATED', `the archive ends inside an entry (${message})`);
  }
  return new BundleError('BUNDLE_TAR_INVALID', `not a valid tar archive (${code}: ${message})`);
}

function ignoredRefusal(entry: ReadEntry): BundleError {
  const what = entry.meta ? `a ${entry.type} record larger than ${MAX_META_ENTRY_BYTES} bytes` : `an entry of type ${entry.type}`;
  return new BundleError('BUNDLE_ENTRY_TYPE_UNSUPPORTED', `"${entry.path}" is ${what}`, { path: entry.path, type: entry.type });
}
