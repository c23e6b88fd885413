/**
 * The shipped rule files: made by the generator from alerts/thresholds.yml and alerts/slo.yml
 * (a drift fails here), valid for promtool, and every alert carrying what the conventions ask.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { generateRules } from '../../../alerts/generator/generate.js';
import type { AlertRule, RuleGroup } from '../../../alerts/generator/rules.js';
import { PACKAGE_ROOT } from '../../../collector/version.js';
import { requireProgram } from '../../support/system-packages.js';

const ALERTS = join(PACKAGE_ROOT, 'alerts');
const shipped = () => generateRules({ thresholdsFile: join(ALERTS, 'thresholds.yml'), sloFile: join(ALERTS, 'slo.yml') });
const ruleFiles = () => readdirSync(ALERTS).filter((f) => f.endsWith('.rules.yml'));

function alertsIn(file: string): AlertRule[] {
  const { groups } = parse(readFileSync(join(ALERTS, file), 'utf8')) as { groups: RuleGroup[] };
  return groups.flatMap((g) => g.rules).filter((r): r is AlertRule => 'alert' in r);
}

describe('the shipped rule files', () => {
  it('are exactly what `meshtel alerts generate` makes of alerts/thresholds.yml and alerts/slo.yml', () => {
    const generated = shipped();
    expect(ruleFiles().sort()).toEqual([...generated.keys()].sort());
    for (const [file, text] of generated) expect(readFileSync(join(ALERTS, file), 'utf8'), `${file} drifted: run npm run alerts`).toBe(text);
  });

  it('pass promtool check rules', () => {
    requireProgram('promtool');
    const out = execFileSync('promtool', ['check', 'rules', ...ruleFiles().map((f) => join(ALERTS, f))], { encoding: 'utf8' });
    expect(out.match(/SUCCESS/g)).toHaveLength(ruleFiles().length);
  });

  it('name every alert Meshtel..., with a severity, a summary, a description and a runbook_url', () => {
    const alerts = ruleFiles().flatMap(alertsIn);
    expect(alerts.length).toBeGreaterThan(20);
    for (const a of alerts) {
      expect(a.alert).toMatch(/^Meshtel[A-Z][A-Za-z]+$/);
      expect(['critical', 'warning', 'info']).toContain(a.labels.severity);
      expect(a.annotations.summary.length, a.alert).toBeGreaterThan(10);
      // The numbers: the value that fired, except where the value says nothing (up == 0, absent, vector(1)).
      if (!['MeshtelCollectorDown', 'MeshtelCollectorAbsent', 'MeshtelWatchdog'].includes(a.alert)) expect(a.annotations.description, a.alert).toMatch(/\{\{ \$value/);
      expect(a.annotations.runbook_url).toBe(`https://github.com/meshtel/meshtel/blob/main/docs/runbooks/${a.alert}.md`);
    }
  });

  it('guard every ratio alert of the golden signals with a minimum request rate', () => {
    for (const a of alertsIn('meshtel-golden.rules.yml').filter((r) => !r.alert.endsWith('TrafficStopped'))) {
      expect(a.expr, a.alert).toMatch(/(>= 0\.1|>= 0\.05)$/);
    }
  });
});

describe('meshtel alerts generate', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'meshtel-alerts-'));

  it('takes thresholds from the file: one change there changes every rule that uses it', () => {
    const d = dir();
    try {
      writeFileSync(join(d, 't.yml'), 'error_ratio: { warning: 0.02, critical: 0.1 }\nmin_request_rate: 1\n');
      const golden = generateRules({ thresholdsFile: join(d, 't.yml'), sloFile: undefined }).get('meshtel-golden.rules.yml')!;
      expect(golden).toContain(') > 0.02\n');
      expect(golden).toContain(') > 0.1\n');
      expect(golden).not.toContain('>= 0.1\n');
      expect(golden).toContain('>= 1\n');
    } finally {
      rmSync(d, { recursive: true });
    }
  });

  it('--max-for caps every for: and says so in the file', () => {
    const files = generateRules({ thresholdsFile: join(ALERTS, 'thresholds.yml'), sloFile: join(ALERTS, 'slo.yml'), maxFor: '10s' });
    for (const text of files.values()) {
      expect(text).toContain('capped at 10s');
      for (const m of text.matchAll(/^\s+for: (\S+)$/gm)) expect(['10s']).toContain(m[1]);
    }
  });

  it('keeps hostile values one PromQL string each: quotes and backslashes in job, regexes and SLO names', () => {
    requireProgram('promtool');
    const d = dir();
    try {
      writeFileSync(join(d, 't.yml'), String.raw`job: 'meshtel"} or vector(1) #'` + '\n' + String.raw`mtls_only_namespaces: 'prod\d+|a"b'` + '\n' + String.raw`plaintext_allowed_workloads: 'ingress-\w+'` + '\n');
      writeFileSync(join(d, 's.yml'), 'slos:\n  - name: x\n    workload: { namespace: \'we"ird\', name: \'back\\\\slash\' }\n    sli: availability\n    objective: 99\n');
      const files = generateRules({ thresholdsFile: join(d, 't.yml'), sloFile: join(d, 's.yml') });
      for (const [name, text] of files) writeFileSync(join(d, name), text);
      const out = execFileSync('promtool', ['check', 'rules', ...[...files.keys()].map((f) => join(d, f))], { encoding: 'utf8' });
      expect(out.match(/SUCCESS/g)).toHaveLength(files.size);
      const expr = (file: string, alert: string) =>
        (parse(files.get(file)!) as { groups: RuleGroup[] }).groups.flatMap((g) => g.rules).find((r) => 'alert' in r && r.alert === alert)!.expr;
      expect(expr('meshtel-pipeline.rules.yml', 'MeshtelCollectorDown')).toBe(String.raw`up{job="meshtel\"} or vector(1) #"} == 0`);
      expect(expr('meshtel-security.rules.yml', 'MeshtelPlaintextInMtlsOnlyNamespace')).toContain(String.raw`namespace=~"prod\\d+|a\"b"`);
    } finally {
      rmSync(d, { recursive: true });
    }
  });

  it('names the key and the problem in a bad thresholds or SLO file', () => {
    const d = dir();
    try {
      writeFileSync(join(d, 't.yml'), 'error_ratio: { warning: 2 }\nunknown_key: 1\n');
      expect(() => generateRules({ thresholdsFile: join(d, 't.yml'), sloFile: undefined })).toThrow(/error_ratio\.critical[\s\S]*unknown_key|unknown_key[\s\S]*error_ratio/);
      writeFileSync(join(d, 's.yml'), 'slos:\n  - name: x\n    workload: { namespace: a, name: b }\n    sli: latency\n    objective: 99\n    threshold: 250ms\n');
      expect(() => generateRules({ thresholdsFile: undefined, sloFile: join(d, 's.yml') })).toThrow(/threshold 250ms is not a bucket bound/);
      writeFileSync(join(d, 's.yml'), 'slos:\n  - name: x\n    sli: availability\n    objective: 99\n');
      expect(() => generateRules({ thresholdsFile: undefined, sloFile: join(d, 's.yml') })).toThrow(/exactly one of workload or edge/);
    } finally {
      rmSync(d, { recursive: true });
    }
  });
});
