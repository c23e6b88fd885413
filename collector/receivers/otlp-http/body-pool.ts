import type { Readable } from 'node:stream';
import { BodyError } from './body.js';

/** The smallest pooled buffer; sizes go up in powers of two from here. */
const MIN_BYTES = 64 * 1024;

/**
 * Reusable buffers for request bodies: one is taken to read a body into, and given back once the
 * request is answered.
 *
 * Why: reading every body into a new Buffer made request bodies the collector's fastest-growing
 * memory (ArrayBuffers outside the V8 heap, ~230 MB/s under a 10x flood, besides the socket's own
 * chunks), and V8 answers memory outside its heap with major collections. In about 4 overload runs
 * in 10 it fell into one every ~100 ms, reached through that memory before a young collection
 * could free the bodies, and refusals waited for them: p99 9-15 ms instead of ~2 (see
 * bench/README.md). With reused buffers, which allocate nothing per request, 2 runs in 22 did.
 *
 * Buffers have power-of-two sizes from 64 KiB. At most `maxKeptBytes` wait in the pool; a buffer
 * given back beyond that, or one the pool did not make, is left to the garbage collector.
 */
export class BodyPool {
  /** Free buffers by size. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly made = new WeakSet<ArrayBuffer>();
  private kept = 0;

  constructor(private readonly maxKeptBytes: number) {}

  /** Bytes waiting in the pool. */
  get keptBytes(): number {
    return this.kept;
  }

  /** A buffer of at least `bytes` (its whole capacity, not zeroed). */
  take(bytes: number): Buffer {
    let size = MIN_BYTES;
    while (size < bytes) size *= 2;
    const ab = this.free.get(size)?.pop();
    if (ab !== undefined) {
      this.kept -= size;
      this.made.add(ab);
      return Buffer.from(ab);
    }
    const made = new ArrayBuffer(size);
    this.made.add(made);
    return Buffer.from(made);
  }

  /** Gives back the buffer under `body` (a view from `readBody` or `take`); anything else is ignored. */
  give(body: Buffer | undefined): void {
    const ab = body?.buffer;
    if (!(ab instanceof ArrayBuffer) || !this.made.has(ab) || this.kept + ab.byteLength > this.maxKeptBytes) return;
    // Forget it while it waits, so that a second give() of the same body cannot pool it twice.
    this.made.delete(ab);
    let list = this.free.get(ab.byteLength);
    if (list === undefined) this.free.set(ab.byteLength, (list = []));
    list.push(ab);
    this.kept += ab.byteLength;
  }

  /**
   * Reads `stream` (a request body of `declared` bytes, or undefined when chunked) into a pooled
   * buffer; returns a view of exactly the body. A body over `maxBytes` (declared or as it comes)
   * is a BodyError(413); one that ends short of its declared length, or breaks off, a
   * BodyError(400). The buffer goes back to the pool on failure; on success the caller gives it
   * back (`give`) once the body is no longer used.
   */
  readBody(stream: Readable, declared: number | undefined, maxBytes: number): Promise<Buffer> {
    if (declared !== undefined && declared > maxBytes) return Promise.reject(new BodyError(413, `body exceeds ${maxBytes} bytes`));
    return new Promise((resolve, reject) => {
      let buf = this.take(declared ?? 0);
      let length = 0;
      let settled = false;
      const settle = () => {
        settled = true;
        // The error listener stays (a no-op now): an error with none would crash the process.
        stream.off('data', onData);
      };
      const fail = (error: BodyError) => {
        if (settled) return;
        settle();
        this.give(buf);
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        if (settled) return;
        const need = length + chunk.length;
        if (need > maxBytes) return fail(new BodyError(413, `body exceeds ${maxBytes} bytes`));
        if (need > buf.length) {
          const bigger = this.take(need);
          buf.copy(bigger, 0, 0, length);
          this.give(buf);
          buf = bigger;
        }
        chunk.copy(buf, length);
        length = need;
      };
      stream.on('data', onData);
      stream.once('end', () => {
        if (declared !== undefined && length !== declared) return fail(new BodyError(400, `body ended after ${length} of the ${declared} bytes its Content-Length declares`));
        if (settled) return;
        settle();
        resolve(buf.subarray(0, length));
      });
      stream.on('error', (e: Error) => fail(new BodyError(400, `body could not be read: ${e.message}`)));
      stream.once('aborted', () => fail(new BodyError(400, 'body could not be read: the client closed the connection')));
    });
  }
}
