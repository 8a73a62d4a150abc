// A bundle file being written: to a temp name beside the target, gzipped on request,
// fsynced and renamed into place on commit, so no half-written bundle ever carries the name.

import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { fsyncDir } from '../common/durable-file.ts';

export interface BundleOutput {
  /** Where the tar bytes go. */
  stream: Writable;
  /** Finishes the file and moves it into place; returns its size. */
  commit(): Promise<number>;
  /** Drops the temp file. */
  abort(): Promise<void>;
}

/** Opens `path` for a new bundle. */
export async function openOutput(path: string, gzip: boolean): Promise<BundleOutput> {
  const temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const file = createWriteStream(temp, { flags: 'w', mode: 0o644, flush: true });
  await new Promise<void>((resolve, reject) => file.once('open', () => resolve()).once('error', reject));
  const gz = gzip ? createGzip({ level: 6 }) : undefined;
  const done = gz ? pipeline(gz, file) : finished(file);
  done.catch(() => undefined); // observed in commit/abort
  const stream = gz ?? file;
  return {
    stream,
    async commit() {
      stream.end();
      await done;
      await rename(temp, path);
      await fsyncDir(dirname(path));
      return (await stat(path)).size;
    },
    async abort() {
      stream.destroy();
      await done.catch(() => undefined);
      await rm(temp, { force: true });
    },
  };
}
