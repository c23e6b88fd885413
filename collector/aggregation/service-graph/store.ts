import { randomInt } from 'node:crypto';
import type { Workload } from '../identity.js';

/** Tempo's `connection_type` label values. */
export type ConnectionType = '' | 'virtual_node' | 'database' | 'messaging_system';

/** One side of a request: what the service graph needs of a client or server span. */
export interface Half {
  workload: Workload;
  /** The span's, for exemplars: lowercase hex, 32 and 16 characters, as the decoders give them. */
  traceId: string;
  spanId: string;
  seconds: number;
  startMs: number;
  failed: boolean;
  tls: boolean | undefined;
  weight: number;
  messaging: boolean;
  /** For a client half: the node it names as its peer, should it expire unpaired. */
  peer: string | undefined;
  peerType: ConnectionType;
}

/** A half-edge that expired: exactly one of `client` and `server` is set. */
export interface PendingEdge {
  client: Half | undefined;
  server: Half | undefined;
}

export type UpsertResult = 'stored' | 'completed' | 'duplicate' | 'dropped';

const CLIENT = 1;
const SERVER = 2;
/** Words (32 bits) of a slot's key: the trace id (4), then the client's span id (2). */
const KEY_WORDS = 6;
/** `flags` bits. */
const FAILED = 1;
const MESSAGING = 2;
const TLS_KNOWN = 4;
const TLS = 8;
const PEER_TYPES: readonly ConnectionType[] = ['', 'virtual_node', 'database', 'messaging_system'];
/** Slots allocated at first; the columns double as needed, up to the store's `maxItems`. */
const INITIAL_SLOTS = 1024;
/** Distinct peer names kept for sharing (see `intern`); past it the table starts again. */
const MAX_PEER_NAMES = 4096;

/**
 * The pending half-edges of the service graph: a client (or producer) span waiting for its server
 * (or consumer) span, or the other way round, keyed by trace id and the client's span id (the
 * server's parent span id).
 *
 * Bounded in time and size: an entry lives `ttlMs` at most, then `onExpire` gets it; the store
 * never holds more than `maxItems` entries, and an upsert reports `dropped` instead of growing.
 * Expiry runs only when `expire(now)` is called (a timer in production, the test itself in tests).
 *
 * Built for the garbage collector. A half waits up to the TTL (seconds), long enough for any
 * object to be copied by young-generation collections and promoted, then to die in the old
 * generation: at tens of thousands of spans a second that made the store most of the
 * collector's GC work, paid in pauses by every request (refusals included). So a waiting half
 * is no object at all: its fields are written into typed-array columns by slot, found through an
 * open-addressing hash index (linear probing, seeded hash, backward-shift deletion), kept in
 * arrival order by a linked list through the slots for expiry. The only references held are the
 * workload (one object per resource of a batch) and the peer name (shared, see `intern`).
 * `Half` objects exist only while a pair completes or an entry expires, and die young.
 */
export class EdgeStore {
  private count = 0;
  /** Slots allocated in the columns; slots [0, used) have been handed out at least once. */
  private slots = 0;
  private used = 0;
  /** Freed slots, chained through `next`. */
  private free = -1;
  /** Arrival order, oldest first (one TTL: also expiry order), chained through `prev`/`next`. */
  private oldest = -1;
  private newest = -1;
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private keys = new Uint32Array(0);
  private hashes = new Uint32Array(0);
  /** The half's own span id (a server's differs from its key). */
  private spanIds = new Uint32Array(0);
  private sides = new Uint8Array(0);
  private flags = new Uint8Array(0);
  private expiresAt = new Float64Array(0);
  /** seconds, startMs, weight. */
  private numbers = new Float64Array(0);
  private workloads: (Workload | undefined)[] = [];
  private peers: (string | undefined)[] = [];
  /** slot + 1 by hash position, 0 when empty; at most half full. */
  private index = new Int32Array(0);
  private mask = 0;
  private readonly seed = randomInt(0x7fffffff);
  /** The key being looked up, parsed from hex (one buffer, so lookups allocate nothing). */
  private readonly key = new Uint32Array(KEY_WORDS);
  private readonly peerNames = new Map<string, string>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxItems: number,
    private readonly onComplete: (client: Half, server: Half) => void,
    private readonly onExpire: (edge: PendingEdge) => void,
  ) {
    this.resize(Math.min(maxItems, INITIAL_SLOTS));
  }

  get size(): number {
    return this.count;
  }

  upsertClient(traceId: string, spanId: string, client: Half, now: number): UpsertResult {
    return this.upsert(CLIENT, traceId, spanId, client, now);
  }

  upsertServer(traceId: string, parentSpanId: string, server: Half, now: number): UpsertResult {
    return this.upsert(SERVER, traceId, parentSpanId, server, now);
  }

  /**
   * Hands every entry older than the TTL to `onExpire` and removes it, oldest first; stops at
   * the first entry still alive, or after `max` entries (the caller goes on later: see
   * Aggregator.tick).
   */
  expire(now: number, max = Infinity): number {
    let expired = 0;
    while (this.oldest !== -1 && this.expiresAt[this.oldest]! <= now && expired < max) {
      const slot = this.oldest;
      const half = this.read(slot, hexWords(this.keys, slot * KEY_WORDS, 4));
      const client = this.sides[slot] === CLIENT;
      this.remove(slot, this.position(slot));
      this.onExpire({ client: client ? half : undefined, server: client ? undefined : half });
      expired++;
    }
    return expired;
  }

  /** Expires everything (shutdown: flush what is pending rather than lose it). */
  expireAll(): number {
    return this.expire(Infinity);
  }

  private upsert(side: number, traceId: string, keySpanId: string, half: Half, now: number): UpsertResult {
    const key = this.key;
    parseHex(traceId, 0, 4, key, 0);
    parseHex(keySpanId, 0, 2, key, 4);
    const hash = this.hash(key);
    const mask = this.mask;
    let i = hash & mask;
    for (let e = this.index[i]!; e !== 0; i = (i + 1) & mask, e = this.index[i]!) {
      const slot = e - 1;
      if (this.hashes[slot] !== hash || !this.matches(slot)) continue;
      if (this.sides[slot] === side) return 'duplicate';
      // The other half waits here. Pairing needs the same trace, so the stored half's trace id
      // is the arriving one's; a stored client's span id is the key.
      const other = this.read(slot, traceId, side === SERVER ? keySpanId : undefined);
      this.remove(slot, i);
      if (side === CLIENT) this.onComplete(half, other);
      else this.onComplete(other, half);
      return 'completed';
    }
    if (this.count >= this.maxItems) return 'dropped';
    const index = this.index;
    const slot = this.allocate();
    if (this.index !== index) {
      // The columns grew and the index was rebuilt: the empty position is elsewhere now.
      for (i = hash & this.mask; this.index[i] !== 0; i = (i + 1) & this.mask);
    }
    this.write(slot, side, hash, half, now);
    this.index[i] = slot + 1;
    return 'stored';
  }

  private matches(slot: number): boolean {
    const keys = this.keys;
    const key = this.key;
    const at = slot * KEY_WORDS;
    for (let w = 0; w < KEY_WORDS; w++) if (keys[at + w] !== key[w]) return false;
    return true;
  }

  /**
   * Mixes the key's words with the process's random seed: span ids are random in practice, but a
   * client choosing them must not be able to pile entries onto one probe chain.
   */
  private hash(key: Uint32Array): number {
    let h = this.seed;
    for (let w = 0; w < KEY_WORDS; w++) {
      h = Math.imul(h ^ key[w]!, 0x9e3779b1);
      h ^= h >>> 15;
    }
    h = Math.imul(h, 0x85ebca6b);
    return (h ^ (h >>> 13)) >>> 0;
  }

  private write(slot: number, side: number, hash: number, half: Half, now: number): void {
    this.keys.set(this.key, slot * KEY_WORDS);
    parseHex(half.spanId, 0, 2, this.spanIds, slot * 2);
    this.hashes[slot] = hash;
    this.sides[slot] = side;
    let flags = (half.failed ? FAILED : 0) | (half.messaging ? MESSAGING : 0) | (PEER_TYPES.indexOf(half.peerType) << 4);
    if (half.tls !== undefined) flags |= TLS_KNOWN | (half.tls ? TLS : 0);
    this.flags[slot] = flags;
    this.expiresAt[slot] = now + this.ttlMs;
    this.numbers[slot * 3] = half.seconds;
    this.numbers[slot * 3 + 1] = half.startMs;
    this.numbers[slot * 3 + 2] = half.weight;
    this.workloads[slot] = half.workload;
    this.peers[slot] = half.peer === undefined ? undefined : this.intern(half.peer);
    // Newest last in arrival order.
    this.prev[slot] = this.newest;
    this.next[slot] = -1;
    if (this.newest === -1) this.oldest = slot;
    else this.next[this.newest] = slot;
    this.newest = slot;
    this.count++;
  }

  /** The half in `slot`; `spanId` when the caller has it as a string already. */
  private read(slot: number, traceId: string, spanId?: string): Half {
    const flags = this.flags[slot]!;
    return {
      workload: this.workloads[slot]!,
      traceId,
      spanId: spanId ?? hexWords(this.spanIds, slot * 2, 2),
      seconds: this.numbers[slot * 3]!,
      startMs: this.numbers[slot * 3 + 1]!,
      weight: this.numbers[slot * 3 + 2]!,
      failed: (flags & FAILED) !== 0,
      messaging: (flags & MESSAGING) !== 0,
      tls: (flags & TLS_KNOWN) === 0 ? undefined : (flags & TLS) !== 0,
      peer: this.peers[slot],
      peerType: PEER_TYPES[flags >> 4]!,
    };
  }

  /** The index position holding `slot`. */
  private position(slot: number): number {
    let i = this.hashes[slot]! & this.mask;
    while (this.index[i] !== slot + 1) i = (i + 1) & this.mask;
    return i;
  }

  /** Takes `slot` (at index position `at`) out of the index and the arrival order, and frees it. */
  private remove(slot: number, at: number): void {
    // Backward-shift deletion: move later entries of the probe chain into the gap when their
    // home position allows it, so that lookups never need tombstones.
    const index = this.index;
    const mask = this.mask;
    let gap = at;
    for (let j = (gap + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const home = this.hashes[index[j]! - 1]! & mask;
      // The entry at j may fill the gap unless its home lies cyclically in (gap, j].
      const stays = gap <= j ? home > gap && home <= j : home > gap || home <= j;
      if (stays) continue;
      index[gap] = index[j]!;
      gap = j;
    }
    index[gap] = 0;

    const prev = this.prev[slot]!;
    const next = this.next[slot]!;
    if (prev === -1) this.oldest = next;
    else this.next[prev] = next;
    if (next === -1) this.newest = prev;
    else this.prev[next] = prev;

    this.workloads[slot] = undefined;
    this.peers[slot] = undefined;
    this.sides[slot] = 0;
    this.next[slot] = this.free;
    this.free = slot;
    this.count--;
  }

  private allocate(): number {
    if (this.free !== -1) {
      const slot = this.free;
      this.free = this.next[slot]!;
      return slot;
    }
    if (this.used === this.slots) this.resize(Math.min(this.maxItems, this.slots * 2));
    return this.used++;
  }

  /** Grows the columns to `slots` and rebuilds the index for them. */
  private resize(slots: number): void {
    const grow = <T extends Int32Array | Uint32Array | Uint8Array | Float64Array>(old: T, make: (n: number) => T, per = 1): T => {
      const a = make(slots * per);
      a.set(old);
      return a;
    };
    this.prev = grow(this.prev, (n) => new Int32Array(n));
    this.next = grow(this.next, (n) => new Int32Array(n));
    this.keys = grow(this.keys, (n) => new Uint32Array(n), KEY_WORDS);
    this.hashes = grow(this.hashes, (n) => new Uint32Array(n));
    this.spanIds = grow(this.spanIds, (n) => new Uint32Array(n), 2);
    this.sides = grow(this.sides, (n) => new Uint8Array(n));
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
    this.expiresAt = grow(this.expiresAt, (n) => new Float64Array(n));
    this.numbers = grow(this.numbers, (n) => new Float64Array(n), 3);
    this.workloads.length = slots;
    this.peers.length = slots;
    this.slots = slots;

    let size = 2;
    while (size < slots * 2) size *= 2;
    this.index = new Int32Array(size);
    this.mask = size - 1;
    for (let slot = this.oldest; slot !== -1; slot = this.next[slot]!) {
      let i = this.hashes[slot]! & this.mask;
      while (this.index[i] !== 0) i = (i + 1) & this.mask;
      this.index[i] = slot + 1;
    }
  }

  /**
   * One string per peer name: a span's attribute values are new strings in every batch, and
   * keeping each waiting half's own copy would keep thousands of them alive for the TTL.
   */
  private intern(peer: string): string {
    const known = this.peerNames.get(peer);
    if (known !== undefined) return known;
    if (this.peerNames.size >= MAX_PEER_NAMES) this.peerNames.clear();
    this.peerNames.set(peer, peer);
    return peer;
  }
}

/** Parses `words` 32-bit words of lowercase hex from `s` at `from` into `out` at `at`. */
function parseHex(s: string, from: number, words: number, out: Uint32Array, at: number): void {
  for (let w = 0; w < words; w++) {
    let v = 0;
    for (let c = from + w * 8, end = c + 8; c < end; c++) {
      const code = s.charCodeAt(c);
      // '0'-'9' are 48-57, 'a'-'f' 97-102 (and 'A'-'F' 65-70 read the same); a character
      // beyond the end (NaN) reads as 0. The decoders give ids as lowercase hex of full length.
      v = (v << 4) | ((code <= 57 ? code - 48 : code - 87) & 15);
    }
    out[at + w] = v;
  }
}

/** `words` 32-bit words of `a` from `at`, as lowercase hex. */
function hexWords(a: Uint32Array, at: number, words: number): string {
  let s = '';
  for (let w = 0; w < words; w++) s += a[at + w]!.toString(16).padStart(8, '0');
  return s;
}
