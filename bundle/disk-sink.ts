// Writes payload entries under a slot directory. Files are created exclusively and never
// through a symlink; their bytes go out in large writes through one reused buffer; each file
// is fsynced and closed in the background (a few at a time) while the next one is written.
// Directories stay owner-only while being filled and get their modes at the end (so a
// read-only directory can still be filled); every directory is fsynced.

import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, symlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir } from '../common/durable-file.ts';
import { isErrno } from '../common/errors.ts';
import { BundleError } from './errors.ts';
import type { FileSink, PayloadSink } from './payload.ts';

const IMPLICIT_DIR_MODE = 0o755;
const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const WRITE_BUFFER_BYTES = 512 * 1024;
/** Files being fsynced at once: enough to overlap with writing, few enough to leave libuv threads for it. */
const SYNCS_IN_FLIGHT = 2;

/** A PayloadSink writing into `root`, which must start empty. */
export class DiskSink implements PayloadSink {
  readonly #root: string;
  /** Directories created so far, with the mode the manifest gives them (undefined: implied by a child). */
  readonly #dirs = new Map<string, number | undefined>();
  readonly #buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  readonly #syncing = new Set<Promise<void>>();
  #syncError: Error | undefined;

  constructor(root: string) {
    this.#root = root;
  }

  async directory(path: string, mode: number): Promise<void> {
    await this.#ensureDir(path);
    this.#dirs.set(path, mode);
  }

  async symlink(path: string, target: string): Promise<void> {
    await this.#ensureParent(path);
    await symlink(target, join(this.#root, path));
  }

  async file(path: string): Promise<FileSink> {
    await this.#ensureParent(path);
    return new DiskFile(await open(join(this.#root, path), FILE_FLAGS, 0o600), this.#buffer, (handle) => this.#syncInBackground(handle));
  }

  /** Waits for every file's fsync, gives directories their modes (deepest first) and fsyncs them. */
  async finish(): Promise<void> {
    await this.settle();
    if (this.#syncError !== undefined) throw this.#syncError;
    const dirs = [...this.#dirs].sort(([a], [b]) => b.split('/').length - a.split('/').length);
    for (const [path, mode] of dirs) {
      const full = join(this.#root, path);
      await chmod(full, mode ?? IMPLICIT_DIR_MODE);
      await fsyncDir(full);
    }
    await fsyncDir(this.#root);
  }

  /** Waits until no background fsync is running (also after a failure, before cleaning up). */
  async settle(): Promise<void> {
    while (this.#syncing.size > 0) await Promise.all(this.#syncing);
  }

  async #syncInBackground(handle: FileHandle): Promise<void> {
    if (this.#syncError !== undefined) throw this.#syncError;
    while (this.#syncing.size >= SYNCS_IN_FLIGHT) await Promise.race(this.#syncing);
    const done: Promise<void> = handle
      .sync()
      .finally(() => handle.close())
      .catch((err: unknown) => {
        this.#syncError ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => this.#syncing.delete(done));
    this.#syncing.add(done);
  }

  async #ensureParent(path: string): Promise<void> {
    const parent = dirname(path);
    if (parent !== '.') await this.#ensureDir(parent);
  }

  async #ensureDir(path: string): Promise<void> {
    if (this.#dirs.has(path)) return;
    await this.#ensureParent(path);
    try {
      await mkdir(join(this.#root, path), 0o700);
    } catch (err) {
      // Only this sink writes here, and it records every directory it makes.
      if (!isErrno(err, 'EEXIST')) throw err;
      const existing = await lstat(join(this.#root, path));
      throw new BundleError('BUNDLE_DUPLICATE_ENTRY', `"${path}" already exists as a ${existing.isDirectory() ? 'directory' : 'non-directory'}`, { path });
    }
    this.#dirs.set(path, undefined);
  }
}

// One file being written. The write buffer is the sink's: files are written one at a time.
class DiskFile implements FileSink {
  readonly #handle: FileHandle;
  readonly #buffer: Buffer;
  readonly #sync: (handle: FileHandle) => Promise<void>;
  #buffered = 0;

  constructor(handle: FileHandle, buffer: Buffer, sync: (handle: FileHandle) => Promise<void>) {
    this.#handle = handle;
    this.#buffer = buffer;
    this.#sync = sync;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.#buffered + chunk.length > this.#buffer.length) await this.#flush();
    if (chunk.length >= this.#buffer.length) {
      await this.#writeAll(chunk);
    } else {
      chunk.copy(this.#buffer, this.#buffered);
      this.#buffered += chunk.length;
    }
  }

  async commit(mode: number): Promise<void> {
    await this.#flush();
    await this.#handle.chmod(mode);
    await this.#sync(this.#handle); // fsync + close, in the background; the sink's finish waits for it
  }

  async discard(): Promise<void> {
    this.#buffered = 0;
    await this.#handle.close().catch(() => undefined);
  }

  async #flush(): Promise<void> {
    if (this.#buffered === 0) return;
    await this.#writeAll(this.#buffer.subarray(0, this.#buffered));
    this.#buffered = 0;
  }

  async #writeAll(bytes: Buffer): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await this.#handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
  }
}
