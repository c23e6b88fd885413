/**
 * Every metric the shipped alert rules (alerts/*.rules.yml) select is one meshtel really exposes:
 * a renamed or misspelt metric makes a rule select nothing, and a rule that selects nothing never
 * fires, silently. Checked against live scrapes of collectors fed by the example mesh, in the
 * configurations that make every family the rules use carry series: the mesh sends to a gateway,
 * which writes to Kafka (librdkafka's mock cluster), which an aggregator reads; the aggregator
 * exports traces to a local OTLP/HTTP sink and has a one-item service-graph store, so that spans
 * are dropped and expire unpaired. The label names the rules match on are checked too.
 *
 * The metric names come from the rules' PromQL. Prometheus 2.42 (Debian 12's) has no
 * `/api/v1/parse_query` to hand out its syntax tree (it answers 404; the endpoint came later), so
 * a small lexer here finds the selectors; it is checked on tricky expressions below, and on every
 * rule against Prometheus' own parser, through `/api/v1/format_query`: the selectors found in the
 * rule and in Prometheus' canonical rendering of it must be the same.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, startCollector } from '../support/collector-process.js';
import { MockKafka, startAggregator } from '../support/kafka.js';
import { RunningMesh } from '../support/mesh.js';
import { JaegerOtlpStandin } from '../support/jaeger-standins.js';
import { waitFor } from '../support/processes.js';
import { formatQuery, Prometheus } from '../support/prometheus.js';

interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** A vector or matrix selector: a metric name (undefined for `{...}` without `__name__`) and its matchers. */
interface Selector {
  name: string | undefined;
  matchers: Matcher[];
}

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string };

/** PromQL's lexical grammar, as far as finding selectors needs it. */
function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  const rules: [Token['kind'] | 'skip', RegExp][] = [
    ['skip', /^\s+/],
    ['skip', /^#[^\n]*/],
    ['string', /^"(?:[^"\\]|\\.)*"|^'(?:[^'\\]|\\.)*'|^`[^`]*`/],
    // A duration (5m, 1h30m, 250ms) before a number, so that `5m` is not `5` then `m`.
    ['number', /^(?:\d+(?:ms|s|m|h|d|w|y))+(?![\w.])/],
    ['number', /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/],
    // Metric names may contain colons (recording rules); label names and keywords cannot.
    ['ident', /^[a-zA-Z_][a-zA-Z0-9_:]*/],
    ['punct', /^(?:=~|!~|!=|==|<=|>=|[-+*/%^=<>(){}[\],@:])/],
  ];
  let rest = expr;
  next: while (rest.length > 0) {
    for (const [kind, re] of rules) {
      const m = re.exec(rest);
      if (m === null) continue;
      if (kind !== 'skip') tokens.push({ kind, text: m[0] });
      rest = rest.slice(m[0].length);
      continue next;
    }
    throw new Error(`cannot read PromQL at "${rest.slice(0, 30)}" in: ${expr}`);
  }
  return tokens;
}

/** Binary-operator and modifier keywords, and the number literals spelt as words. */
const KEYWORDS = new Set(['and', 'or', 'unless', 'atan2', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);
/** Keywords followed by a parenthesised list of label names. */
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Aggregation operators, which may be followed by `by (...)` or `without (...)` before their `(`. */
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);

function unquote(s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  if (s.startsWith("'")) return JSON.parse(`"${s.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`) as string;
  return JSON.parse(s) as string;
}

/**
 * The selectors of a PromQL expression. An identifier is a metric name unless it is a keyword,
 * a function or aggregation (followed by `(`, or by `by`/`without`), a label name (inside `{}`, or
 * in the list after by/without/on/ignoring/group_left/group_right) or part of a range (`[5m:1m]`);
 * strings, numbers and durations are never names. `{__name__="x"}` names x.
 */
function selectorsIn(expr: string): Selector[] {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  const context: ('expr' | 'labels' | 'matchers' | 'range')[] = [];
  let named: Selector | undefined; // a name just read, whose `{...}` may follow
  let inBraces: Selector | undefined;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    const prev = tokens[k - 1];
    const next = tokens[k + 1];
    const here = context.at(-1) ?? 'expr';
    if (here === 'matchers') {
      if (t.kind === 'punct' && t.text === '}') {
        context.pop();
        inBraces = undefined;
      } else if (t.kind === 'ident' || t.kind === 'string') {
        // label op "value" (a quoted label name is allowed in newer Prometheus).
        const op = tokens[k + 1];
        const value = tokens[k + 2];
        if (op?.kind !== 'punct' || !['=', '!=', '=~', '!~'].includes(op.text) || value?.kind !== 'string') throw new Error(`bad matcher at "${t.text}" in: ${expr}`);
        const label = t.kind === 'string' ? unquote(t.text) : t.text;
        const matcher: Matcher = { label, op: op.text as Matcher['op'], value: unquote(value.text) };
        if (label === '__name__' && matcher.op === '=') inBraces!.name = matcher.value;
        else inBraces!.matchers.push(matcher);
        k += 2;
      } else if (!(t.kind === 'punct' && t.text === ',')) throw new Error(`unexpected "${t.text}" in a selector of: ${expr}`);
      continue;
    }
    if (t.kind === 'punct') {
      if (t.text === '(') context.push(prev?.kind === 'ident' && LABEL_LISTS.has(prev.text.toLowerCase()) ? 'labels' : 'expr');
      else if (t.text === '[') context.push('range');
      else if (t.text === ')' || t.text === ']') context.pop();
      else if (t.text === '{') {
        if (here !== 'expr') throw new Error(`"{" inside ${here} in: ${expr}`);
        inBraces = named ?? { name: undefined, matchers: [] };
        if (named === undefined) selectors.push(inBraces);
        context.push('matchers');
      }
      named = undefined;
      continue;
    }
    named = undefined;
    if (t.kind !== 'ident' || here !== 'expr') continue;
    const word = t.text.toLowerCase();
    if (KEYWORDS.has(word)) continue;
    if (next?.kind === 'punct' && next.text === '(') continue; // a function or an aggregation
    if (AGGREGATIONS.has(word) && next?.kind === 'ident' && ['by', 'without'].includes(next.text.toLowerCase())) continue;
    named = { name: t.text, matchers: [] };
    selectors.push(named);
  }
  if (context.length > 0) throw new Error(`unbalanced brackets in: ${expr}`);
  return selectors;
}

const names = (expr: string) => [...new Set(selectorsIn(expr).map((s) => s.name ?? '(unnamed)'))].sort();

describe('the selector extractor', () => {
  it('finds metric names, and only them, in PromQL of every shape the rules use and more', () => {
    expect(names('sum by (namespace, workload) (rate(a_total{classification="failure"}[5m])) / sum by (namespace, workload) (rate(a_total[5m])) > 0.2')).toEqual(['a_total']);
    expect(names('histogram_quantile(0.99, sum by (src_workload, le) (rate(b_bucket[5m]))) > 2 and on (namespace, workload) sum(c) >= 0.1')).toEqual(['b_bucket', 'c']);
    expect(names('label_replace(sum by (namespace) (rate(d[1h])) > 0, "dst_namespace", "$1", "namespace", "(.*)")')).toEqual(['d']);
    expect(names('absent(up{job="meshtel"})')).toEqual(['up']);
    expect(names('vector(1)')).toEqual([]);
    expect(names('rate(e[1h] offset 15m) >= 1 unless on (x, y) f > 0 and on () (sum(up{job="m"}) > 0)')).toEqual(['e', 'f', 'up']);
    expect(names('min by (namespace, workload) (g) - time() < 3600')).toEqual(['g']);
    expect(names('h / ignoring(le) group_left(instance, on) i * on(by) group_right j')).toEqual(['h', 'i', 'j']);
    expect(names('{__name__="k", job=~"x{1,2}"} + count_values("le", l) + topk(3, m) + max_over_time(n[5m:1m]) + o @ 1609746000 + meshtel:p:rate5m')).toEqual(
      ['k', 'l', 'm', 'meshtel:p:rate5m', 'n', 'o'],
    );
    expect(names('sum without (instance) (q) # r{s} in a comment')).toEqual(['q']);
    expect(names(`label_replace(t, "u", "v{w}", 'x', \`y[5m]\`) or sum(z) by (aa) or 1e3 * bb offset 1h30m or -Inf < NaN`)).toEqual(['bb', 't', 'z']);
    expect(selectorsIn('rate(cc{a="1", b!="2", c=~"3|4", d!~"5"}[5m]) / {__name__="dd"}')).toEqual([
      {
        name: 'cc',
        matchers: [
          { label: 'a', op: '=', value: '1' },
          { label: 'b', op: '!=', value: '2' },
          { label: 'c', op: '=~', value: '3|4' },
          { label: 'd', op: '!~', value: '5' },
        ],
      },
      { name: 'dd', matchers: [] },
    ]);
    expect(() => selectorsIn('sum(rate(x[5m])')).toThrow(/unbalanced/);
  });
});

interface RuleFile {
  groups: { name: string; rules: ({ alert: string; expr: string } | { record: string; expr: string })[] }[];
}

/** Every rule of alerts/*.rules.yml: its name (alert or record), its file and its expression. */
function shippedRules(): { file: string; name: string; record: boolean; expr: string }[] {
  const dir = join(ROOT, 'alerts');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rules.yml'))
    .flatMap((file) =>
      (parse(readFileSync(join(dir, file), 'utf8')) as RuleFile).groups.flatMap((g) =>
        g.rules.map((r) => ('alert' in r ? { file, name: r.alert, record: false, expr: r.expr } : { file, name: r.record, record: true, expr: r.expr })),
      ),
    );
}

/** The series of an exposition: metric name, and labels with their values. */
function seriesOf(text: string): { name: string; labels: Map<string, string> }[] {
  const out: { name: string; labels: Map<string, string> }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s/.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${line}`);
    const labels = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, JSON.parse(`"${l[2]!}"`) as string]));
    out.push({ name: m[1]!, labels });
  }
  return out;
}

/**
 * Label values the rules match on with `=` that the example mesh cannot make meshtel write, each
 * with the reason. The label itself must still be on the series, its values spelt alike.
 */
const VALUES_THE_MESH_CANNOT_SHOW: { metric: string; label: string; value: string; spelt: RegExp; why: string }[] = [
  {
    metric: 'meshtel_edge_requests_total',
    label: 'tls',
    value: 'false',
    spelt: /^(true|false)$/,
    why: 'every edge of the example mesh is mTLS; its one plaintext call comes from the unmeshed load generator, which makes no edge',
  },
  {
    metric: 'meshtel_workload_tcp_closed_connections_total',
    label: 'outcome',
    value: 'error',
    spelt: /^(ok|error)$/,
    why:
      "a workload's closed connections are those its own proxies saw inbound, and the example mesh's proxies see every inbound connection " +
      'close cleanly, even when a caller or they themselves are stopped; the failed connects to a stopped proxy are counted by the caller, ' +
      'on the edge (meshtel_edge_tcp_closed_connections_total{outcome="error"} is checked), by the same code',
  },
];

describe('the metrics of the shipped alert rules', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  const rules = shippedRules();
  const recorded = new Set(rules.filter((r) => r.record).map((r) => r.name));
  /** Every selector of every rule, with the rule it is in. */
  const used = rules.flatMap((r) => selectorsIn(r.expr).map((s) => ({ ...s, rule: `${r.file}: ${r.name}` })));

  it('are read the same from the rules as from Prometheus\' own rendering of them', async () => {
    expect(rules.length).toBeGreaterThan(40);
    const prometheus = await Prometheus.start({ targets: {} });
    cleanup.push(() => prometheus.stop());
    for (const r of rules) {
      const canonical = await formatQuery(prometheus, r.expr);
      // Prometheus writes matchers in its own order.
      const normal = (e: string) => selectorsIn(e).map((x) => ({ ...x, matchers: x.matchers.map((m) => JSON.stringify(m)).sort() }));
      expect(normal(canonical), `${r.file}: ${r.name}\n${canonical}`).toEqual(normal(r.expr));
    }
  });

  it('are produced by Prometheus itself, by a recording rule, or by meshtel', () => {
    // Names with a colon are recording-rule outputs, by convention: each must be recorded by a
    // shipped rule. `up` is Prometheus' own, and the rules must select the meshtel job with it.
    for (const s of used) {
      if (s.name === undefined) throw new Error(`${s.rule}: a selector without a metric name`);
      if (s.name.includes(':')) expect(recorded, `${s.rule} uses ${s.name}`).toContain(s.name);
      else if (s.name === 'up') expect(s.matchers, s.rule).toContainEqual({ label: 'job', op: '=', value: 'meshtel' });
      else expect(s.name, s.rule).toMatch(/^(meshtel|traces)_/);
    }
  });

  it('are all exposed, with the labels the rules match on, by collectors fed by the example mesh', async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'meshtel-e2e-alert-metrics-'));
    cleanup.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    // A one-item pairing store: most spans are dropped (traces_service_graph_dropped_spans_total),
    // and halves whose other half was dropped expire unpaired (..._unpaired_spans_total).
    const config = join(dir, 'meshtel.yaml');
    writeFileSync(config, 'aggregation:\n  service_graph:\n    store_ttl: 1s\n    store_max_items: 1\n');
    const kafka = await MockKafka.start(1);
    cleanup.push(() => kafka.stop());
    const sink = await new JaegerOtlpStandin().start();
    cleanup.push(() => sink.stop());
    const common = ['--config', config, '--kafka-brokers', kafka.bootstrap, '--admin-endpoint', '127.0.0.1:0'];
    const aggregator = await startAggregator([...common, '--jaeger-endpoint', sink.endpoint]);
    cleanup.push(() => aggregator.process.stop());
    const gateway = await startCollector([...common, '--mode', 'gateway', '--otlp-endpoint', '127.0.0.1:0']);
    cleanup.push(() => gateway.process.stop());
    const mesh = await RunningMesh.start(gateway.otlp, { rate: 20 });
    cleanup.push(() => mesh.stop());
    await mesh.waitForAnswers(20);
    // Failures (classification="failure") and connections that fail (outcome="error"): auth
    // fails half its requests, and score-0's proxy goes down, so number's connects to it fail.
    await mesh.call('PUT', '/faults/auth', { error_rate: 0.5 });
    await mesh.call('POST', '/proxies/score-0/stop');

    const wanted = [...new Set(used.map((s) => s.name!).filter((n) => !n.includes(':') && n !== 'up'))].sort();
    const scrapeAll = async () => {
      const texts = await Promise.all([gateway, aggregator].map(async (c) => (await fetch(`http://${c.admin}/metrics`)).text()));
      return { texts, series: texts.flatMap(seriesOf) };
    };
    const exception = (name: string, m: Matcher) => VALUES_THE_MESH_CANNOT_SHOW.find((e) => e.metric === name && e.label === m.label && e.value === m.value);
    /** What the last scrapes lack: a metric without series, a label a rule matches on, a value it selects. */
    const lacking = (series: { name: string; labels: Map<string, string> }[]) => {
      const problems: string[] = [];
      for (const name of wanted) if (!series.some((s) => s.name === name)) problems.push(`${name}: no series`);
      for (const s of used) {
        const values = (label: string) => new Set(series.filter((x) => x.name === s.name).flatMap((x) => (x.labels.has(label) ? [x.labels.get(label)!] : [])));
        // job and instance are Prometheus' own labels; regex matchers select no one value.
        for (const m of s.matchers.filter((m) => m.label !== 'job' && m.label !== 'instance' && wanted.includes(s.name!))) {
          const seen = values(m.label);
          const known = exception(s.name!, m);
          if (seen.size === 0) problems.push(`${s.rule}: ${s.name} has no label ${m.label}`);
          else if (known !== undefined) {
            for (const v of seen) if (!known.spelt.test(v)) problems.push(`${s.name}: ${m.label}="${v}" is not spelt like ${m.label}="${m.value}"`);
          } else if (m.op === '=' && !seen.has(m.value)) problems.push(`${s.rule}: ${s.name} has no series with ${m.label}="${m.value}" (values seen: ${[...seen].sort().join(', ')})`);
        }
      }
      return [...new Set(problems)];
    };
    let last = await scrapeAll();
    try {
      await waitFor('a series of every metric, label and value the rules select', async () => {
        last = await scrapeAll();
        return lacking(last.series).length === 0 ? true : undefined;
      }, 90_000, 500);
    } catch {
      // Reported below, each metric with whether meshtel declares it at all.
    }
    const declared = new Set(last.texts.flatMap((t) => [...t.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]!)));
    const family = (n: string) => n.replace(/_(bucket|count|sum)$/, '');
    expect(
      lacking(last.series).map((p) => {
        const n = p.split(':')[0]!;
        return wanted.includes(n) ? `${p} (used by ${used.find((s) => s.name === n)!.rule}; ${declared.has(n) || declared.has(family(n)) ? 'declared, but no series' : 'not exposed at all'})` : p;
      }),
    ).toEqual([]);
    // A histogram's _bucket, _count and _sum, and only they, are read from a histogram family.
    for (const t of last.texts) for (const m of t.matchAll(/^# TYPE (\S+) histogram$/gm)) for (const n of wanted.filter((w) => family(w) === m[1])) expect(n).toMatch(/_(bucket|count|sum)$/);
    // The mesh, Kafka, a gateway and an aggregator on two shared cores.
  }, 180_000);
});
