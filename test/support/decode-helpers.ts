import { expect } from 'vitest';
import { DecodeError } from '../../collector/otlp/decode-error.js';

/** The DecodeError `fn` throws (failing the test if it throws something else, or nothing). */
export function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).code).toBe('MESHTEL_ERR_DECODE');
    return e as DecodeError;
  }
  throw new Error('expected a DecodeError, nothing was thrown');
}

/** A JSON request body. */
export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

interface OfficialType {
  fromObject(o: Record<string, unknown>): unknown;
  verify(m: unknown): string | null;
  encode(m: unknown): { finish(): Uint8Array };
}

/** A request encoded by the official generated code from a plain object, checked against the schema first. */
export function encodeOfficial(type: OfficialType, request: Record<string, unknown>): Uint8Array {
  const message = type.fromObject(request);
  const problem = type.verify(message);
  if (problem !== null) throw new Error(`test payload does not match the OTLP schema: ${problem}`);
  return type.encode(message).finish();
}
