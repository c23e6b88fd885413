import { installMissingPrograms } from './system-packages.js';

/**
 * Runs once before the test files: installs the system packages the tests use when they are
 * missing (CI starts from a clean machine). What cannot be installed is reported here and again
 * by every test that needs it, naming the package; no test is skipped for it.
 */
export default function setup(): void {
  const missing = installMissingPrograms((line) => console.log(`[global-setup] ${line}`));
  if (missing.length > 0) {
    console.warn(`[global-setup] still missing: ${missing.join(', ')}; tests that need them will fail and say so`);
  }
}
