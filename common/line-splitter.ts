// Splits a byte stream into lines with a bound on what it holds. node:readline keeps an
// unfinished line without limit (a peer that never sends '\n' grows the process until it dies),
// so sockets and pipes fed by less trusted peers are split with this instead.

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits chunks at '\n' and holds at most `maxLineBytes` of an unfinished line. A line that
 * passes the limit is not returned: its bytes are dropped up to its newline, and `overflows`
 * counts it from the moment it passed (so a caller can act before the newline ever comes).
 */
export class LineSplitter {
  readonly #max: number;
  #parts: Buffer[] = [];
  #held = 0;
  #dropping = false;
  #overflows = 0;

  constructor(maxLineBytes: number) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError('maxLineBytes must be a positive integer');
    this.#max = maxLineBytes;
  }

  /** The lines `chunk` completes, in order, decoded as UTF-8, without their '\n' (or '\r\n'). */
  push(chunk: Buffer | string): string[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const lines: string[] = [];
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(NEWLINE, start);
      const end = nl === -1 ? buf.length : nl;
      this.#take(buf.subarray(start, end));
      if (nl === -1) break;
      if (this.#dropping) this.#dropping = false;
      else lines.push(this.#line());
      this.#parts = [];
      this.#held = 0;
      start = nl + 1;
    }
    return lines;
  }

  /** How many lines passed `maxLineBytes` so far. */
  get overflows(): number {
    return this.#overflows;
  }

  /** Bytes of the unfinished line held now (never more than `maxLineBytes`). */
  get pendingBytes(): number {
    return this.#held;
  }

  /** At the end of the stream: the unfinished line, or null when there is none (or it was too long). */
  end(): string | null {
    const last = this.#dropping || this.#held === 0 ? null : this.#line();
    this.#parts = [];
    this.#held = 0;
    this.#dropping = false;
    return last;
  }

  #take(piece: Buffer): void {
    if (this.#dropping || piece.length === 0) return;
    if (this.#held + piece.length > this.#max) {
      this.#dropping = true;
      this.#overflows += 1;
      this.#parts = [];
      this.#held = 0;
      return;
    }
    // A copy: the caller's chunk (often a pooled buffer) is not kept alive by a few bytes of it.
    this.#parts.push(Buffer.from(piece));
    this.#held += piece.length;
  }

  #line(): string {
    const whole = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#held);
    const end = whole.length > 0 && whole[whole.length - 1] === CR ? whole.length - 1 : whole.length;
    return whole.toString('utf8', 0, end);
  }
}
