import { z } from 'zod';
import { endpoint } from '../config/schema-helpers.js';

/** `admin`: the admin server (`/metrics`, health, the query API). */
export const adminConfigSchema = z.strictObject({
  /** Where to listen; port 0 picks a free port. */
  endpoint: endpoint.prefault('127.0.0.1:9464'),
});

export type AdminConfig = z.output<typeof adminConfigSchema>;
