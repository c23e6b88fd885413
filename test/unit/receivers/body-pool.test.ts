import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyError } from '../../../collector/receivers/otlp-http/body.js';
import { BodyPool } from '../../../collector/receivers/otlp-http/body-pool.js';

const KiB = 1024;

/** A request-like stream that sends `chunks` (and then ends, unless `end` is false). */
function body(chunks: Buffer[], end = true): PassThrough {
  const s = new PassThrough();
  for (const c of chunks) s.write(c);
  if (end) s.end();
  return s;
}

/** `n` bytes counting up from `from`, so that any misplaced byte shows. */
function bytes(n: number, from = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) % 251;
  return b;
}

async function refusal(p: Promise<unknown>): Promise<BodyError> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(BodyError);
  return e as BodyError;
}

describe('BodyPool', () => {
  it('hands out power-of-two buffers from 64 KiB, and the same memory again once given back', () => {
    const pool = new BodyPool(1024 * KiB);
    expect(pool.take(1).length).toBe(64 * KiB);
    const b = pool.take(200 * KiB);
    expect(b.length).toBe(256 * KiB);
    pool.give(b);
    expect(pool.keptBytes).toBe(256 * KiB);
    expect(pool.take(129 * KiB).buffer).toBe(b.buffer);
    expect(pool.keptBytes).toBe(0);
  });

  it('pools a buffer once however often it is given back, ignores buffers it did not make, and keeps at most its limit', () => {
    const pool = new BodyPool(192 * KiB);
    const a = pool.take(64 * KiB);
    pool.give(a);
    pool.give(a.subarray(0, 10));
    expect(pool.keptBytes).toBe(64 * KiB);
    pool.give(Buffer.alloc(64 * KiB));
    pool.give(undefined);
    expect(pool.keptBytes).toBe(64 * KiB);
    const [b, c] = [pool.take(100 * KiB), pool.take(100 * KiB)];
    pool.give(b);
    pool.give(c);
    // A second 128 KiB buffer would take the pool past its limit: it is left to the GC.
    expect(pool.keptBytes).toBe(192 * KiB);
  });

  it('reads a body of declared length, and a chunked one that outgrows its first buffers, byte for byte', async () => {
    const pool = new BodyPool(4096 * KiB);
    const declared = bytes(150 * KiB);
    const read = await pool.readBody(body([declared.subarray(0, 70 * KiB), declared.subarray(70 * KiB)]), declared.length, 1024 * KiB);
    expect(read.equals(declared)).toBe(true);
    const chunks = Array.from({ length: 30 }, (_, i) => bytes(10 * KiB, i));
    const chunked = await pool.readBody(body(chunks), undefined, 1024 * KiB);
    expect(chunked.equals(Buffer.concat(chunks))).toBe(true);
    // The smaller buffers it grew out of went back to the pool.
    expect(pool.keptBytes).toBe((64 + 128 + 256) * KiB);
    expect((await pool.readBody(body([]), 0, 1024)).length).toBe(0);
  });

  it('refuses a body over the limit as declared (without reading) or as it comes, 413', async () => {
    const pool = new BodyPool(1024 * KiB);
    const unread = body([bytes(10)], false);
    expect((await refusal(pool.readBody(unread, 2000, 1024))).status).toBe(413);
    expect(unread.readableLength).toBe(10);
    const e = await refusal(pool.readBody(body([bytes(1000), bytes(25)]), undefined, 1024));
    expect([e.status, e.message]).toEqual([413, 'body exceeds 1024 bytes']);
    expect(pool.keptBytes).toBe(64 * KiB);
  });

  it('refuses a body that ends short of its Content-Length or breaks off, 400, and never writes into a buffer after giving it back', async () => {
    const pool = new BodyPool(1024 * KiB);
    const short = await refusal(pool.readBody(body([bytes(100)]), 300, 1024));
    expect([short.status, short.message]).toEqual([400, 'body ended after 100 of the 300 bytes its Content-Length declares']);

    const broken = body([bytes(100)], false);
    const reading = pool.readBody(broken, undefined, 1024 * KiB);
    broken.destroy(new Error('socket hang up'));
    const e = await refusal(reading);
    expect([e.status, e.message]).toEqual([400, 'body could not be read: socket hang up']);

    // A body refused part way keeps flowing; what comes after must not land in the pooled buffer.
    const over = body([bytes(2000)], false);
    await refusal(pool.readBody(over, undefined, 1024));
    const reused = pool.take(1);
    reused.fill(7);
    over.end(bytes(500));
    await new Promise((resolve) => over.on('end', resolve).resume());
    expect(reused.every((b) => b === 7)).toBe(true);
  });
});
