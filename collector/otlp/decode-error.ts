/**
 * A request body that cannot be decoded. The receivers answer it with 400 and this message, so
 * the message names where the problem is (`resourceSpans[0].scopeSpans[2].spans[7].traceId: ...`)
 * and what was expected; it never echoes more than a short excerpt of the input.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code = 'MESHTEL_ERR_DECODE';
  private readonly segments: string[] = [];

  constructor(private readonly problem: string) {
    super(problem);
  }

  /** Prefixes a path segment (`spans[3]`, `traceId`) as the error travels up the decoder. */
  within(segment: string): this {
    this.segments.unshift(segment);
    this.message = `${this.segments.join('.').replace(/\.\[/g, '[')}: ${this.problem}`;
    return this;
  }
}

/** Rethrows `error` with `segment` prefixed to its path when it is a DecodeError. */
export function rethrowWithin(error: unknown, segment: string): never {
  if (error instanceof DecodeError) throw error.within(segment);
  throw error;
}
