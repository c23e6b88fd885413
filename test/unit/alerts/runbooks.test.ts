/**
 * The alerts' documentation: a runbook for every alert of the shipped rule files (and none for an
 * alert that does not exist), each with the same sections; docs/alerts.md naming every alert and
 * every threshold; the relative links of these pages resolving; and the example Prometheus and
 * Alertmanager configurations valid for their own tools.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { AlertRule, RuleGroup } from '../../../alerts/generator/rules.js';
import { thresholdsSchema } from '../../../alerts/generator/settings.js';
import { PACKAGE_ROOT } from '../../../collector/version.js';
import { requireProgram } from '../../support/system-packages.js';

const ALERTS = join(PACKAGE_ROOT, 'alerts');
const DOCS = join(PACKAGE_ROOT, 'docs');
const RUNBOOKS = join(DOCS, 'runbooks');

/** The sections of every runbook, in this order. */
const SECTIONS = ['Meaning', 'Impact', 'Confirm', 'Causes', 'Remedy', 'Tuning'];

const ruleFiles = () => readdirSync(ALERTS).filter((f) => f.endsWith('.rules.yml'));
const alerts = (): AlertRule[] =>
  ruleFiles().flatMap((f) => (parse(readFileSync(join(ALERTS, f), 'utf8')) as { groups: RuleGroup[] }).groups.flatMap((g) => g.rules).filter((r): r is AlertRule => 'alert' in r));
const alertNames = () => [...new Set(alerts().map((a) => a.alert))].sort();
const runbookFiles = () => readdirSync(RUNBOOKS).filter((f) => f.endsWith('.md'));
const read = (file: string) => readFileSync(file, 'utf8');

/** The `## ` sections of a Markdown page, by heading, outside code blocks. */
function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  let inCode = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    const heading = inCode ? null : /^## (.+)$/.exec(line);
    if (heading) {
      current = heading[1]!.trim();
      out.set(current, '');
    } else if (current !== undefined) {
      out.set(current, `${out.get(current)!}${line}\n`);
    }
  }
  return out;
}

/** Dotted paths of every leaf of an object: `error_ratio.warning`. */
function leaves(value: object, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) => {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    return v !== null && typeof v === 'object' ? leaves(v as object, path) : [path];
  });
}

/** Relative Markdown links of a page that point at no file. */
function brokenLinks(file: string): string[] {
  const text = read(file).replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z]+:/.test(target) && !target.startsWith('#'))
    .filter((target) => !existsSync(resolve(dirname(file), target.split('#')[0]!)))
    .map((target) => `${file}: ${target}`);
}

describe('runbooks', () => {
  it('exist for every runbook_url of the shipped rule files, named after the alert', () => {
    const all = alerts();
    expect(all.length).toBeGreaterThan(20);
    const missing = all
      .filter((a) => {
        const path = new URL(a.annotations.runbook_url).pathname;
        return !path.endsWith(`/docs/runbooks/${a.alert}.md`) || !existsSync(join(RUNBOOKS, `${a.alert}.md`));
      })
      .map((a) => a.annotations.runbook_url);
    expect(missing).toEqual([]);
  });

  it('exist only for alerts the rule files have (no orphans)', () => {
    const names = new Set(alertNames());
    expect(runbookFiles().filter((f) => !names.has(f.replace(/\.md$/, '')))).toEqual([]);
  });

  it('each have the title of their alert and the sections Meaning, Impact, Confirm, Causes, Remedy, Tuning, in order, none empty', () => {
    for (const file of runbookFiles()) {
      const text = read(join(RUNBOOKS, file));
      expect(text.split('\n')[0], file).toBe(`# ${file.replace(/\.md$/, '')}`);
      const found = sections(text);
      expect([...found.keys()], file).toEqual(SECTIONS);
      for (const [name, body] of found) expect(body.trim().length, `${file}: ${name}`).toBeGreaterThan(40);
    }
  });

  it('say how to confirm with a command or a query, and give the severity levels the rules have', () => {
    const severities = new Map<string, Set<string>>();
    for (const a of alerts()) severities.set(a.alert, (severities.get(a.alert) ?? new Set()).add(a.labels.severity));
    for (const [alert, levels] of severities) {
      const text = read(join(RUNBOOKS, `${alert}.md`));
      const found = sections(text);
      expect(found.get('Confirm'), alert).toMatch(/```(sh|promql)\n/);
      for (const level of levels) expect(found.get('Meaning'), `${alert}: severity ${level}`).toContain(`**${level}**`);
      // Golden-signal, security and SLO alerts are about workloads and edges: confirm them with the CLI.
      if (!/^Meshtel(Collector|Spans|MetricPoints|TraceExport|Kafka|Unpaired|ServiceGraph|Series|Watchdog|WorkloadCertificate)/.test(alert)) {
        expect(found.get('Confirm'), alert).toMatch(/npx meshtel (stat|edges)/);
      }
    }
  });

  it('name in Tuning the keys to change, each one that exists: thresholds.yml, slo.yml or the collector configuration', () => {
    const thresholdKeys = leaves(thresholdsSchema.parse({}));
    const configDoc = read(join(DOCS, 'config.md'));
    /** slo.yml keys; an Alertmanager field, a label and a reason value that runbooks name there. */
    const others = new Set(['objective', 'window', 'threshold', 'repeat_interval', 'instance', 'rate_limited']);
    const known = (key: string) =>
      thresholdKeys.some((k) => k === key || k.startsWith(`${key}.`)) ||
      others.has(key) ||
      (key.endsWith('.*') ? configDoc.includes(`\`${key.slice(0, -1)}`) : configDoc.includes(`\`${key}\``));
    for (const file of runbookFiles()) {
      const tuning = sections(read(join(RUNBOOKS, file))).get('Tuning')!;
      const keys = [...tuning.matchAll(/`([a-z_][a-z_0-9.[\]*]*)`/g)].map((m) => m[1]!).filter((k) => !k.includes('/') && !k.endsWith('.yml') && k !== 'for:');
      expect(keys.length, `${file} names no key`).toBeGreaterThan(0);
      expect(keys.filter((k) => !known(k)), file).toEqual([]);
    }
  });

  it('and docs/alerts.md link only to files that exist', () => {
    const pages = [join(DOCS, 'alerts.md'), ...runbookFiles().map((f) => join(RUNBOOKS, f))];
    expect(pages.flatMap(brokenLinks)).toEqual([]);
  });
});

describe('docs/alerts.md', () => {
  const text = () => read(join(DOCS, 'alerts.md'));

  it('lists every alert, linked to its runbook', () => {
    expect(alertNames().filter((a) => !text().includes(`[${a}](runbooks/${a}.md)`))).toEqual([]);
  });

  it('documents every key of thresholds.yml', () => {
    const keys = leaves(thresholdsSchema.parse({}));
    expect(keys.length).toBeGreaterThan(15);
    expect(keys.filter((k) => !text().includes(`\`${k}\``))).toEqual([]);
  });

  it('names the recording rules of the SLO rule file', () => {
    const slo = read(join(ALERTS, 'meshtel-slo.rules.yml'));
    const records = new Set([...slo.matchAll(/record: (\S+)/g)].map((m) => m[1]!.replace(/rate\d+[smhdw]$/, 'rate<window>')));
    expect([...records].filter((r) => !text().includes(r))).toEqual([]);
  });
});

describe('the example configurations', () => {
  it('alerts/alertmanager.example.yml passes amtool check-config', () => {
    requireProgram('amtool');
    const out = execFileSync('amtool', ['check-config', join(ALERTS, 'alertmanager.example.yml')], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
  });

  it('alerts/alertmanager.example.yml routes critical to the pager, warning to tickets, the Watchdog to the dead man’s switch', () => {
    requireProgram('amtool');
    const route = (...labels: string[]) =>
      execFileSync('amtool', ['config', 'routes', 'test', `--config.file=${join(ALERTS, 'alertmanager.example.yml')}`, ...labels], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    expect(route('alertname=MeshtelCollectorDown', 'severity=critical')).toBe('pager');
    expect(route('alertname=MeshtelWorkloadErrorRateHigh', 'severity=warning', 'namespace=default', 'workload=auth')).toBe('ticket');
    expect(route('alertname=MeshtelWatchdog', 'severity=info')).toBe('deadmans-switch');
  });

  it('alerts/prometheus.example.yml passes promtool check config, with every shipped rule file', () => {
    requireProgram('promtool');
    const out = execFileSync('promtool', ['check', 'config', join(ALERTS, 'prometheus.example.yml')], { encoding: 'utf8' });
    expect(out).toContain(`SUCCESS: ${ruleFiles().length} rule files found`);
    for (const f of ruleFiles()) expect(out).toContain(f);
  });
});
