import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateRules } from '../../alerts/generator/generate.js';
import { CliError } from './admin-client.js';

export interface AlertsFlags {
  thresholds?: string | undefined;
  slo?: string | undefined;
  out?: string | undefined;
  'max-for'?: string | undefined;
  check?: boolean | undefined;
}

/**
 * `meshtel alerts generate`: writes the rule files to `--out` (default `alerts`), or with
 * `--check` compares them with what is there and fails naming every file that differs.
 * Returns what to print.
 */
export function alertsGenerateCommand(flags: AlertsFlags): string {
  const out = flags.out ?? 'alerts';
  const files = generateRules({ thresholdsFile: flags.thresholds, sloFile: flags.slo, maxFor: flags['max-for'] });
  if (flags.check === true) {
    const stale = [...files].filter(([name, text]) => read(join(out, name)) !== text).map(([name]) => join(out, name));
    const known = new Set(files.keys());
    const extra = existingRuleFiles(out).filter((name) => name.startsWith('meshtel-') && !known.has(name));
    if (stale.length > 0 || extra.length > 0) {
      throw new CliError(
        [...stale.map((f) => `${f}: differs from what the generator makes`), ...extra.map((f) => `${join(out, f)}: not made by the generator`), 'run `npm run alerts` and commit the result'].join('\n'),
        1,
      );
    }
    return `${files.size} rule files in ${out} are up to date`;
  }
  mkdirSync(out, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(out, name), text);
  return [...files.keys()].map((name) => `wrote ${join(out, name)}`).join('\n');
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function existingRuleFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.rules.yml'));
  } catch {
    return [];
  }
}
