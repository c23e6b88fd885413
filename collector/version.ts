import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory of meshtel's package.json, found above this module (in the sources or in dist). */
export const PACKAGE_ROOT: string = findRoot();

/** meshtel's version, from its package.json. */
export const VERSION: string = readVersion();

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'meshtel') return dir;
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir);
  }
  return process.cwd();
}

function readVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
