import { z } from 'zod';
import { parseByteSize, parseDuration, parseEndpoint } from './units.js';

/** A duration (`"2s"`, `"15m"`) in the file; milliseconds in the parsed config. */
export const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a duration like "500ms", "2s" or "5m" (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return ms;
});

/** A positive duration. */
export const positiveDuration = duration.refine((ms) => ms > 0, { message: 'must be greater than zero' });

/** A byte size (`"20MiB"`) in the file; bytes in the parsed config. */
export const byteSize = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined || bytes <= 0) {
    ctx.addIssue({ code: 'custom', message: `must be a size like "512KiB", "20MiB" or "1GB" (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return bytes;
});

/** `HOST:PORT` in the file; `{host, port}` in the parsed config. */
export const endpoint = z.string().transform((value, ctx) => {
  const ep = parseEndpoint(value);
  if (ep === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be HOST:PORT, for example "127.0.0.1:4318" (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return ep;
});

/** Histogram bucket upper bounds given as durations; strictly increasing, in milliseconds. */
export const durationBuckets = z.array(duration).transform((bounds, ctx) => {
  if (bounds.length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one bucket' });
  for (let i = 1; i < bounds.length; i++) {
    if (bounds[i]! <= bounds[i - 1]!) {
      ctx.addIssue({ code: 'custom', message: `must be strictly increasing (bucket ${i} is not above bucket ${i - 1})` });
      break;
    }
  }
  return bounds;
});

export const positiveInt = z.number().int().positive();
