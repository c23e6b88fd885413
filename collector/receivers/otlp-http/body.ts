import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(gunzip);

/** Why a body could not be read; the receiver maps each to its HTTP status in one place. */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Returns the request body decompressed according to `Content-Encoding` (identity or gzip).
 * Inflation stops as soon as the output would exceed `maxBytes`, so a small gzip bomb costs at
 * most `maxBytes` of memory before it is refused with 413.
 */
export async function decompressBody(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new BodyError(415, `unsupported Content-Encoding "${encoding.slice(0, 32)}": send gzip or no encoding`);
  }
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new BodyError(413, `body exceeds ${maxBytes} bytes after decompression`);
    }
    throw new BodyError(400, `body is not valid gzip: ${(e as Error).message}`);
  }
}

/** The media type of a Content-Type header, lowercased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}
