/**
 * The promtool unit tests of the shipped rules (alerts/tests/*.test.yml): they pass, and they
 * cover every alert: each (alert, severity) fires in at least one case whose labels and
 * annotations are checked in full, and each alert is seen not firing in at least one case.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { AlertRule, RuleGroup } from '../../../alerts/generator/rules.js';
import { PACKAGE_ROOT } from '../../../collector/version.js';
import { requireProgram } from '../../support/system-packages.js';

const ALERTS = join(PACKAGE_ROOT, 'alerts');
const TESTS = join(ALERTS, 'tests');

interface ExpAlert {
  exp_labels?: Record<string, string>;
  exp_annotations?: Record<string, string>;
}
interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: ExpAlert[] | null;
}
interface TestFile {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: AlertRuleTest[] }[];
}

const ruleFiles = readdirSync(ALERTS).filter((f) => f.endsWith('.rules.yml')).sort();
const testFiles = readdirSync(TESTS).filter((f) => f.endsWith('.test.yml')).sort();
const rules: AlertRule[] = ruleFiles.flatMap((f) =>
  (parse(readFileSync(join(ALERTS, f), 'utf8')) as { groups: RuleGroup[] }).groups.flatMap((g) => g.rules).filter((r): r is AlertRule => 'alert' in r),
);
const suites = testFiles.map((f) => ({ file: f, ...(parse(readFileSync(join(TESTS, f), 'utf8')) as TestFile) }));
const cases = suites.flatMap((s) => s.tests.flatMap((t) => (t.alert_rule_test ?? []).map((c) => ({ ...c, where: `${s.file}: ${t.name ?? '?'} at ${c.eval_time}` }))));
const firing = cases.flatMap((c) => (c.exp_alerts ?? []).map((a) => ({ alertname: c.alertname, severity: a.exp_labels?.severity, alert: a, where: c.where })));
const key = (alert: string, severity: string | undefined) => `${alert}/${severity ?? '(none)'}`;
/** Alerts whose condition cannot be false: the dead man's switch. */
const alwaysFiring = (r: AlertRule) => r.expr.trim() === 'vector(1)';

describe('promtool unit tests of the alert rules (alerts/tests)', () => {
  it('exist for every rule file, and name only rule files that exist', () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const tested = new Set(suites.flatMap((s) => s.rule_files.map((r) => join(TESTS, r))));
    for (const f of ruleFiles) expect(tested, `no test file loads ${f}`).toContain(join(ALERTS, f));
    for (const f of tested) expect(ruleFiles.map((r) => join(ALERTS, r)), `${f} is not a rule file under alerts/`).toContain(f);
  });

  it.each(testFiles)('%s passes promtool test rules', (file) => {
    requireProgram('promtool');
    let out: string;
    try {
      out = execFileSync('promtool', ['test', 'rules', file], { cwd: TESTS, encoding: 'utf8', stdio: 'pipe', timeout: 55_000 });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`promtool test rules ${file} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: e });
    }
    expect(out).toContain('SUCCESS');
    expect(out).not.toContain('FAILED');
  });

  it('fire every (alert, severity) of alerts/*.rules.yml at least once, with its labels and annotations in full', () => {
    const pairs = [...new Set(rules.map((r) => key(r.alert, r.labels.severity)))];
    expect(pairs.length).toBeGreaterThan(20);
    const fired = new Set(firing.map((f) => key(f.alertname, f.severity)));
    expect(pairs.filter((p) => !fired.has(p)), 'never firing in any test case').toEqual([]);
    // A firing case lists what the rule adds: every label of the rule and every annotation it has.
    for (const f of firing) {
      const variants = rules.filter((r) => r.alert === f.alertname && r.labels.severity === f.severity);
      expect(variants.length, `${f.where}: no rule ${key(f.alertname, f.severity)}`).toBeGreaterThan(0);
      const matching = variants.filter((r) => Object.entries(r.labels).every(([k, v]) => f.alert.exp_labels?.[k] === v));
      const rule = matching[0];
      expect(rule, `${f.where}: the labels of ${f.alertname} are not all expected`).toBeDefined();
      expect(Object.keys(f.alert.exp_annotations ?? {}).sort(), `${f.where}: annotations of ${f.alertname}`).toEqual(Object.keys(rule?.annotations ?? {}).sort());
    }
  });

  it('see every alert not firing at least once (exp_alerts: []), but the always-firing watchdog', () => {
    const names = [...new Set(rules.filter((r) => !alwaysFiring(r)).map((r) => r.alert))];
    const quiet = new Set(cases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));
    expect(names.filter((n) => !quiet.has(n)), 'never seen not firing').toEqual([]);
    expect(rules.filter(alwaysFiring).map((r) => r.alert)).toEqual(['MeshtelWatchdog']);
  });

  it('page on the fast SLO burn, ticket only on the slow one, and stay quiet without a burn', () => {
    const burn = cases.filter((c) => c.alertname === 'MeshtelErrorBudgetBurn');
    const severities = (c: AlertRuleTest) => (c.exp_alerts ?? []).map((a) => a.exp_labels?.severity).sort();
    expect(burn.some((c) => severities(c).join() === 'critical'), 'a fast burn paging').toBe(true);
    expect(burn.some((c) => severities(c).join() === 'warning'), 'a slow burn that only tickets').toBe(true);
    expect(burn.some((c) => severities(c).length === 0), 'no burn').toBe(true);
  });
});
