/** The admin API address the CLI talks to when `--admin` is not given. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9464';
export const ADMIN_URL_ENV = 'MESHTEL_ADMIN_URL';

/** A failure the CLI reports in one sentence, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** `http://host:port` from `--admin` (a URL or a bare `host:port`), the environment, or the default. */
export function adminUrl(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const raw = flag ?? env[ADMIN_URL_ENV] ?? DEFAULT_ADMIN_URL;
  const url = /^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`;
  try {
    return new URL(url).toString().replace(/\/$/, '');
  } catch {
    throw new CliError(`--admin must be a URL like http://127.0.0.1:9464 or HOST:PORT (got "${raw}")`, 2);
  }
}

/** GETs a JSON document from the admin API, turning every failure into a CliError that says what to do. */
export async function getJson<T>(base: string, path: string, timeoutMs = 5000): Promise<T> {
  const url = `${base}${path}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    const reason =
      cause === 'ECONNREFUSED'
        ? 'connection refused'
        : cause === 'TimeoutError'
          ? `no answer within ${timeoutMs / 1000}s`
          : cause === 'ENOTFOUND'
            ? 'host not found'
            : String(cause);
    throw new CliError(
      `cannot reach the meshtel admin API at ${base} (${reason}).\n` +
        `Is the collector running? Start it with "npx meshtel run", or point --admin (or ${ADMIN_URL_ENV}) at its admin address.`,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    let detail = text.slice(0, 300);
    try {
      detail = (JSON.parse(text) as { error?: string }).error ?? detail;
    } catch {
      // not JSON: show the text as it is
    }
    throw new CliError(`${url} answered ${response.status}: ${detail}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`${url} did not answer JSON: is ${base} a meshtel admin server?`);
  }
}
