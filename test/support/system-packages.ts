import { execFileSync, spawnSync } from 'node:child_process';

/** The programs tests run, and the Debian package that provides each (DESIGN.md, Testing). */
export const SYSTEM_PROGRAMS = [
  { program: 'prometheus', pkg: 'prometheus' },
  { program: 'promtool', pkg: 'prometheus' },
  { program: 'prometheus-alertmanager', pkg: 'prometheus-alertmanager' },
  { program: 'amtool', pkg: 'prometheus-alertmanager' },
  { program: 'kcat', pkg: 'kcat' },
] as const;

export function hasProgram(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Installs the Debian packages of missing programs through apt when running as root (as CI
 * does on a fresh machine). Returns what is still missing, by package, for the caller to report.
 */
export function installMissingPrograms(log: (line: string) => void = () => {}): string[] {
  const missing = [...new Set(SYSTEM_PROGRAMS.filter((p) => !hasProgram(p.program)).map((p) => p.pkg))];
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0 || !hasProgram('apt-get')) return missing;
  log(`installing ${missing.join(', ')} with apt-get (needed by the tests)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, stdio: 'pipe' });
  if (install().status !== 0) {
    execFileSync('apt-get', ['update'], { env, stdio: 'pipe' });
    install();
  }
  return [...new Set(SYSTEM_PROGRAMS.filter((p) => !hasProgram(p.program)).map((p) => p.pkg))];
}

/** Throws, naming the Debian package, when a program a test needs is not installed. */
export function requireProgram(program: (typeof SYSTEM_PROGRAMS)[number]['program']): void {
  if (hasProgram(program)) return;
  const pkg = SYSTEM_PROGRAMS.find((p) => p.program === program)!.pkg;
  throw new Error(`"${program}" is not installed: install the Debian package "${pkg}" (apt-get install ${pkg}), or run the tests as root so they install it`);
}
