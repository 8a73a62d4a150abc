// Writes a POSIX ustar stream (pax records for long or non-ASCII names) with node-tar's own
// header and pax encoders, so twinslot's bundles are read back by the same code that reads
// everyone else's. Owner ids and names are zeroed and one mtime is used for every entry.

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Header } from 'tar/header';
import { Pax } from 'tar/pax';

export interface TarEntryHeader {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink';
  mode: number;
  size: number;
  linkpath?: string;
  mtime: Date;
}

const BLOCK = 512;
const RECORD = 20 * BLOCK; // GNU tar's default record size: the archive is padded to it

/** Appends tar entries to `out`, honouring its backpressure. */
export class TarWriter {
  readonly #out: Writable;
  #bytes = 0;

  constructor(out: Writable) {
    this.#out = out;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Writes the header (and pax record, if needed) of one entry; its body follows with `write`, then `pad`. */
  async header(entry: TarEntryHeader): Promise<void> {
    const fields = { path: entry.path, mode: entry.mode, uid: 0, gid: 0, size: entry.size, mtime: entry.mtime, type: entry.type, linkpath: entry.linkpath ?? '', uname: '', gname: '' };
    const header = new Header(fields);
    const needPax = header.encode();
    if (needPax) {
      const linkpath = entry.linkpath;
      await this.write(new Pax({ path: entry.path, size: entry.size, mtime: entry.mtime, ...(linkpath ? { linkpath } : {}) }).encode());
    }
    await this.write(header.block ?? Buffer.alloc(BLOCK));
  }

  /** Writes raw bytes (an entry's body). */
  async write(chunk: Buffer): Promise<void> {
    this.#bytes += chunk.length;
    if (!this.#out.write(chunk)) await once(this.#out, 'drain');
  }

  /** Pads the body of `size` bytes to a whole block. */
  async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest > 0) await this.write(Buffer.alloc(BLOCK - rest));
  }

  /** One whole in-memory entry. */
  async entry(entry: Omit<TarEntryHeader, 'size'>, body: Buffer = Buffer.alloc(0)): Promise<void> {
    await this.header({ ...entry, size: body.length });
    if (body.length > 0) await this.write(body);
    await this.pad(body.length);
  }

  /** The end-of-archive marker (two zero blocks), padded to a whole record. */
  async end(): Promise<void> {
    const total = this.#bytes + 2 * BLOCK;
    await this.write(Buffer.alloc(2 * BLOCK + ((RECORD - (total % RECORD)) % RECORD)));
  }
}
