// Splits the app's output into pieces with a bound on what it holds: a whole line, or — for a line
// longer than `maxBytes` — each `maxBytes` of it as it arrives, marked truncated (the app's log is
// kept, unlike common/line-splitter.ts, which drops an over-long request). Before a piece is made
// the sink is asked whether it may go out; when not, the piece is never copied or decoded, and
// its line is dropped to its newline together with the rest of the chunk (counted in one native
// pass), so a flood costs little more than reading it.

const NEWLINE = 0x0a;
const CR = 0x0d;

export interface OutputSink {
  /** May a piece of `bytes` bytes go out now? */
  admit(bytes: number): boolean;
  piece(text: string, truncated: boolean): void;
  /** `lines` lines (ended, or at the end of the stream) and `bytes` bytes dropped. */
  dropped(lines: number, bytes: number): void;
}

export class OutputLines {
  readonly #max: number;
  #parts: Buffer[] = [];
  #held = 0;
  /** The line in progress is longer than #max: a piece of it went out already. */
  #long = false;
  /** The line in progress is being dropped to its newline. */
  #dropping = false;

  constructor(maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 4) throw new RangeError('maxBytes must be an integer of at least 4');
    this.#max = maxBytes;
  }

  /** Feeds one chunk of the stream. */
  push(chunk: Buffer, sink: OutputSink): void {
    let i = 0;
    while (i < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, i);
      if (this.#dropping) {
        if (nl === -1) return sink.dropped(0, chunk.length - i);
        sink.dropped(1, nl + 1 - i);
        this.#reset();
        i = nl + 1;
        continue;
      }
      const end = nl === -1 ? chunk.length : nl;
      if (this.#held + end - i > this.#max) {
        // More than #max of one line: its next #max bytes go out now, whatever follows.
        if (!sink.admit(this.#max)) return this.#dropRest(chunk, i, sink);
        const cut = boundary(chunk, i + this.#max - this.#held, i);
        this.#emit(chunk.subarray(i, cut), true, false, sink);
        this.#long = true;
        i = cut;
      } else if (nl === -1) {
        this.#hold(chunk.subarray(i));
        return;
      } else {
        if (!sink.admit(this.#held + nl - i)) return this.#dropRest(chunk, i, sink);
        this.#emit(chunk.subarray(i, nl), this.#long, true, sink);
        this.#reset();
        i = nl + 1;
      }
    }
  }

  /** At the end of the stream: the unfinished line, if any. */
  end(sink: OutputSink): void {
    if (this.#dropping) sink.dropped(1, 0);
    else if (this.#held > 0 && sink.admit(this.#held)) this.#emit(Buffer.alloc(0), this.#long, true, sink);
    else if (this.#held > 0) sink.dropped(1, this.#held);
    this.#reset();
  }

  // What is held plus `tail`, decoded; a line's last piece loses a '\r' before its newline.
  #emit(tail: Buffer, truncated: boolean, lineEnd: boolean, sink: OutputSink): void {
    const whole = this.#held === 0 ? tail : Buffer.concat([...this.#parts, tail]);
    sink.piece(whole.toString('utf8', 0, lineEnd ? stripCr(whole) : whole.length), truncated);
    this.#parts = [];
    this.#held = 0;
  }

  // The piece at `from` is refused: it, what is held of its line and the rest of the chunk go.
  #dropRest(chunk: Buffer, from: number, sink: OutputSink): void {
    const rest = chunk.subarray(from);
    const last = rest.lastIndexOf(NEWLINE);
    const ended = last === -1 ? 0 : countNewlines(rest.subarray(0, last + 1));
    sink.dropped(ended, this.#held + rest.length);
    this.#reset();
    this.#dropping = last < rest.length - 1; // a line begun after the last newline goes to its end
  }

  #hold(piece: Buffer): void {
    this.#parts.push(Buffer.from(piece)); // a copy: a few bytes must not keep the whole chunk alive
    this.#held += piece.length;
  }

  #reset(): void {
    this.#parts = [];
    this.#held = 0;
    this.#long = false;
    this.#dropping = false;
  }
}

// A cut at or before `at` (not before `min`) that does not split a UTF-8 character.
function boundary(chunk: Buffer, at: number, min: number): number {
  for (let cut = at; cut > min && cut > at - 4; cut -= 1) {
    if (((chunk[cut] ?? 0) & 0xc0) !== 0x80) return cut;
  }
  return at;
}

function stripCr(b: Buffer): number {
  return b.length > 0 && b[b.length - 1] === CR ? b.length - 1 : b.length;
}

// Native string split: ~30x faster than an indexOf loop for short lines. In slices, so that no
// array of pieces is big enough for V8's large-object space (freed only by a full collection).
const COUNT_SLICE = 8 * 1024;

function countNewlines(b: Buffer): number {
  let n = 0;
  for (let at = 0; at < b.length; at += COUNT_SLICE) n += b.toString('latin1', at, Math.min(b.length, at + COUNT_SLICE)).split('\n').length - 1;
  return n;
}
