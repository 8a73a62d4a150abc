// The outbox's rows on node:sqlite.
//
// INVARIANTS
// - append() returns only after its row is committed with synchronous=FULL in WAL mode: the
//   WAL is fsynced on every commit, so an acknowledged message survives kill -9 and power loss
//   (proved by the kill -9 integration test; the power-loss half rests on fsync).
// - Rows leave only through deleteAcked() (after a PUBACK) or a drop that the bound policy
//   decided and counted. Nothing else deletes.
// - `seq` grows monotonically (AUTOINCREMENT never reuses a value), so delivery in seq order
//   is delivery in enqueue order, across restarts too.

import { DatabaseSync, type StatementSync } from 'node:sqlite';

export interface StoredMessage {
  seq: number;
  id: string;
  topic: string;
  payload: Uint8Array;
  retain: boolean;
  userProperties: Array<{ name: string; value: string }>;
  createdAt: number;
  bytes: number;
}

export type NewMessage = Omit<StoredMessage, 'seq'>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  retain INTEGER NOT NULL,
  user_properties TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);`;

/** Synchronous store: each call is one transaction. */
export class OutboxStore {
  #db: DatabaseSync;
  #insert: StatementSync;
  #after: StatementSync;
  #delete: StatementSync;
  #oldest: StatementSync;
  #bump: StatementSync;

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;');
    this.#db.exec(SCHEMA);
    this.#insert = this.#db.prepare(
      'INSERT INTO messages (id, topic, payload, retain, user_properties, created_at, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#after = this.#db.prepare('SELECT * FROM messages WHERE seq > ? ORDER BY seq LIMIT ?');
    this.#delete = this.#db.prepare('DELETE FROM messages WHERE seq = ?');
    this.#oldest = this.#db.prepare('SELECT seq, bytes, created_at FROM messages ORDER BY seq LIMIT ?');
    this.#bump = this.#db.prepare(
      'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value',
    );
  }

  /** Rows and bytes held now. */
  totals(): { count: number; bytes: number } {
    const row = this.#db.prepare('SELECT count(*) AS count, coalesce(sum(bytes), 0) AS bytes FROM messages').get() as { count: number; bytes: number };
    return { count: Number(row.count), bytes: Number(row.bytes) };
  }

  /** A persisted counter (`dropped`, `acked`). */
  counter(name: string): number {
    const row = this.#db.prepare('SELECT value FROM counters WHERE name = ?').get(name) as { value: number } | undefined;
    return row === undefined ? 0 : Number(row.value);
  }

  /** Durably add a message, first dropping `drop` (the oldest rows) in the same transaction. */
  append(message: NewMessage, drop: number[]): number {
    return this.#transaction(() => {
      for (const seq of drop) this.#delete.run(seq);
      if (drop.length > 0) this.#bump.run('dropped', drop.length);
      const result = this.#insert.run(
        message.id,
        message.topic,
        message.payload,
        message.retain ? 1 : 0,
        JSON.stringify(message.userProperties),
        message.createdAt,
        message.bytes,
      );
      return Number(result.lastInsertRowid);
    });
  }

  /** Up to `limit` rows after `seq`, oldest first. */
  after(seq: number, limit: number): StoredMessage[] {
    return (this.#after.all(seq, limit) as Array<Record<string, unknown>>).map(toMessage);
  }

  /** The oldest rows' seq, size and age (for the bound policy). */
  oldest(limit: number): Array<{ seq: number; bytes: number; createdAt: number }> {
    return (this.#oldest.all(limit) as Array<{ seq: number; bytes: number; created_at: number }>).map((r) => ({
      seq: Number(r.seq),
      bytes: Number(r.bytes),
      createdAt: Number(r.created_at),
    }));
  }

  /** Remove rows the broker acknowledged (`counter` = acked) or the policy dropped (`dropped`). */
  remove(seqs: number[], counter: 'acked' | 'dropped'): void {
    if (seqs.length === 0) return;
    this.#transaction(() => {
      for (const seq of seqs) this.#delete.run(seq);
      this.#bump.run(counter, seqs.length);
    });
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #transaction<T>(body: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = body();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }
}

function toMessage(r: Record<string, unknown>): StoredMessage {
  return {
    seq: Number(r['seq']),
    id: String(r['id']),
    topic: String(r['topic']),
    payload: r['payload'] as Uint8Array,
    retain: Number(r['retain']) === 1,
    userProperties: JSON.parse(String(r['user_properties'])) as StoredMessage['userProperties'],
    createdAt: Number(r['created_at']),
    bytes: Number(r['bytes']),
  };
}
