/**
 * The shipped dashboards (issue 8): the committed files are the generator's output, every
 * dashboard is a valid Grafana dashboard by Grafana's published schema (`@grafana/schema`), and a
 * lint pass checks meshtel's conventions (dashboards/README.md).
 *
 * `@grafana/schema` publishes the dashboard schema as TypeScript types (generated from Grafana's
 * CUE kinds), not as a JSON Schema. So each committed JSON file is type-checked by the TypeScript
 * compiler as an object literal of type `Dashboard`: literal values against the unions and enums,
 * required fields, and excess properties (a misspelt or unknown field fails). A runtime check then
 * covers what the types cannot say (grid bounds, unique ids and refIds).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { JAEGER_UID, PROMETHEUS_UID, UID } from '../../../dashboards/src/common.js';
import { DATASOURCE_URL_ENV, GRAFANA_DASHBOARDS_PATH, generateDashboardFiles } from '../../../dashboards/src/generate.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DIR = join(ROOT, 'dashboards');

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
  format?: string;
  instant?: boolean;
}
interface Link {
  url?: string;
  title?: string;
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  links?: Link[];
  fieldConfig?: { defaults?: { unit?: string; links?: Link[] }; overrides?: { properties: { id: string; value: unknown }[] }[] };
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: { type?: string; uid?: string };
}
interface DashboardJson {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  links?: Link[];
}

const files = generateDashboardFiles();
const dashboards = [...files].filter(([f]) => f.endsWith('.json')).map(([f, text]) => ({ file: f, d: JSON.parse(text) as DashboardJson }));

function panelsOf(d: DashboardJson): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Current (React) panel types shipped with Grafana 10+; Angular ones (graph, singlestat, table-old, ...) are gone. */
const ALLOWED_PANEL_TYPES = new Set([
  'row', 'timeseries', 'stat', 'gauge', 'bargauge', 'table', 'nodeGraph', 'barchart', 'piechart', 'heatmap', 'histogram',
  'state-timeline', 'status-history', 'text', 'logs', 'traces', 'alertlist', 'dashlist', 'news', 'canvas', 'geomap',
  'xychart', 'trend', 'flamegraph', 'datagrid',
]);

/** The variables each dashboard must have (alerts link with them; dashboards/README.md). */
const REQUIRED_VARIABLES: Record<string, string[]> = {
  [UID.overview]: ['datasource', 'namespace'],
  [UID.serviceGraph]: ['datasource', 'namespace'],
  [UID.workload]: ['datasource', 'namespace', 'workload'],
  [UID.edge]: ['datasource', 'src_namespace', 'src_workload', 'dst_namespace', 'dst_workload'],
  [UID.security]: ['datasource', 'namespace'],
  [UID.slo]: ['datasource', 'slo'],
  [UID.pipeline]: ['datasource', 'instance'],
};

describe('generated files', () => {
  it('are committed as the generator makes them (run `npm run dashboards`)', () => {
    const stale: string[] = [];
    for (const [file, text] of files) {
      const path = join(DIR, file);
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(file);
    }
    expect(stale, 'files differing from `npm run dashboards` output').toEqual([]);
  });

  it('leave no other JSON under dashboards/ (Grafana\'s file provider loads every .json file of the folder it reads)', () => {
    const committed = readdirSync(DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
    expect(committed.sort()).toEqual(dashboards.map((x) => x.file).sort());
  });

  it('are deterministic', () => {
    expect([...generateDashboardFiles()]).toEqual([...files]);
  });
});

describe("Grafana's dashboard schema (@grafana/schema)", () => {
  it('type-checks every committed dashboard as a Dashboard literal', () => {
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    };
    const sources = new Map<string, string>();
    for (const { file } of dashboards) {
      const json = readFileSync(join(DIR, file), 'utf8');
      sources.set(join(ROOT, `__schema_check_${file.replace(/\W/g, '_')}.mts`), `import type { Dashboard } from '@grafana/schema';\nexport const dashboard: Dashboard = ${json};\n`);
    }
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, ...rest) => {
      const text = sources.get(name);
      return text === undefined ? getSourceFile(name, lang, ...rest) : ts.createSourceFile(name, text, lang, true);
    };
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => sources.has(name) || fileExists(name);
    const readFile = host.readFile.bind(host);
    host.readFile = (name) => sources.get(name) ?? readFile(name);
    const program = ts.createProgram([...sources.keys()], options, host);
    const errors = [...sources.keys()].flatMap((name) =>
      ts.getPreEmitDiagnostics(program, program.getSourceFile(name)).map((d) => {
        const where = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
        return `${name.replace(`${ROOT}/__schema_check_`, '')}${where === undefined ? '' : `:${where.line}`}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      }),
    );
    expect(errors).toEqual([]);
  }, 60_000);

  it.each(dashboards)('$file has what Grafana requires at runtime', ({ d }) => {
    expect(typeof d.uid).toBe('string');
    expect(d.uid.length).toBeLessThanOrEqual(40); // Grafana's UID limit
    expect(d.uid).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(d.title).not.toBe('');
    expect(d.schemaVersion).toBeGreaterThanOrEqual(39);
    const ids = panelsOf(d).map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panelsOf(d)) {
      const g = p.gridPos!;
      expect(g, `${p.title}: gridPos`).toBeDefined();
      expect(g.w > 0 && g.h > 0 && g.x >= 0 && g.y >= 0 && g.x + g.w <= 24, `${p.title}: gridPos ${JSON.stringify(g)}`).toBe(true);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      expect(refIds.every((r) => typeof r === 'string' && r !== ''), `${p.title}: refIds`).toBe(true);
      expect(new Set(refIds).size, `${p.title}: unique refIds`).toBe(refIds.length);
    }
    const names = d.templating.list.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('conventions (lint)', () => {
  it('ships one dashboard per UID of dashboards/uids.ts (what the alerts link to)', () => {
    const uids = dashboards.map((x) => x.d.uid);
    expect(uids.sort()).toEqual(Object.values(UID).sort());
  });

  it.each(dashboards)('$file: fixed UID matching its file name, tags, title', ({ file, d }) => {
    expect(file).toBe(`${d.uid}.json`);
    expect(d.title).toMatch(/^meshtel \/ /);
  });

  it.each(dashboards)('$file: a datasource variable that every query uses, and the required variables', ({ d }) => {
    const ds = d.templating.list.find((v) => v.name === 'datasource');
    expect(ds?.type).toBe('datasource');
    expect(ds?.query).toBe('prometheus');
    for (const name of REQUIRED_VARIABLES[d.uid]!) expect(d.templating.list.map((v) => v.name), d.uid).toContain(name);
    for (const v of d.templating.list.filter((x) => x.type === 'query')) expect(v.datasource?.uid, v.name).toBe('${datasource}');
    for (const p of panelsOf(d).filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      for (const t of p.targets ?? []) expect(t.datasource?.uid, `${p.title} ${t.refId}`).toBe('${datasource}');
    }
  });

  it.each(dashboards)('$file: a unit, a description, a current panel type on every panel', ({ d }) => {
    for (const p of panelsOf(d)) {
      expect(ALLOWED_PANEL_TYPES.has(p.type), `${p.title}: panel type ${p.type}`).toBe(true);
      if (p.type === 'row') continue;
      expect(p.title, 'title').toBeTruthy();
      expect(p.description?.trim(), `${p.title}: description`).toBeTruthy();
      expect(p.fieldConfig?.defaults?.unit, `${p.title}: unit`).toBeTruthy();
      expect((p.targets ?? []).length, `${p.title}: queries`).toBeGreaterThan(0);
    }
  });

  it.each(dashboards)('$file: the rate interval variable as the range of every rate(), only defined variables', ({ d }) => {
    const defined = new Set(d.templating.list.map((v) => v.name));
    const exprs = [
      ...panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${p.title} ${t.refId}`, expr: t.expr ?? '' }))),
      ...d.templating.list.filter((v) => typeof v.query === 'string').map((v) => ({ where: `variable ${v.name}`, expr: v.query as string })),
    ];
    for (const { where, expr } of exprs) {
      expect(expr, where).not.toBe('');
      for (const m of expr.matchAll(/\[([^\]]*)\]/g)) expect(m[1], `${where}: range in ${expr}`).toBe('$__rate_interval');
      for (const m of expr.matchAll(/\$\{?([A-Za-z_]\w*)/g)) if (!m[1]!.startsWith('__')) expect(defined.has(m[1]!), `${where}: $${m[1]} undefined`).toBe(true);
    }
  });

  it.each(dashboards)('$file: links to dashboards by UID, to Jaeger by datasource UID', ({ d }) => {
    const links: string[] = [...(d.links ?? []).map((l) => l.url ?? '')];
    for (const p of panelsOf(d)) {
      links.push(...(p.links ?? []).map((l) => l.url ?? ''));
      links.push(...(p.fieldConfig?.defaults?.links ?? []).map((l) => l.url ?? ''));
      for (const o of p.fieldConfig?.overrides ?? []) for (const prop of o.properties) if (prop.id === 'links') links.push(...(prop.value as Link[]).map((l) => l.url ?? ''));
    }
    expect(links.length).toBeGreaterThan(0);
    for (const url of links) {
      expect(url, 'no slug links').not.toMatch(/\/dashboard\/db\//);
      const uid = /^\/d\/([^/?]+)/.exec(url)?.[1];
      if (uid !== undefined) {
        expect(Object.values(UID) as string[], url).toContain(uid);
        const target = dashboards.find((x) => x.d.uid === uid)!.d;
        for (const m of url.matchAll(/var-(\w+)=/g)) expect(target.templating.list.map((v) => v.name), url).toContain(m[1]);
      } else {
        expect(url, 'a link that is neither a dashboard nor a Jaeger search').toMatch(/^\/explore\?/);
        expect(decodeURIComponent(url)).toContain(`"datasource":"${JAEGER_UID}"`);
      }
    }
  });

  it('alerts link to existing variables of existing dashboards', () => {
    const urls = readdirSync(join(ROOT, 'alerts'))
      .filter((f) => f.endsWith('.rules.yml'))
      .flatMap((f) => [...readFileSync(join(ROOT, 'alerts', f), 'utf8').matchAll(/dashboard_url: (\S+)/g)].map((m) => m[1]!));
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      const [, uid, q] = /\/d\/([^?\s]+)(?:\?(.*))?$/.exec(url)!;
      const d = dashboards.find((x) => x.d.uid === uid)?.d;
      expect(d, url).toBeDefined();
      for (const m of (q ?? '').matchAll(/var-(\w+)=/g)) expect(d!.templating.list.map((v) => v.name), url).toContain(m[1]);
    }
  });
});

describe('provisioning', () => {
  it('provisions Prometheus and Jaeger with fixed UIDs, the Jaeger one linking to span metrics', () => {
    const doc = parse(files.get('provisioning/datasources/meshtel.yml')!) as { datasources: { uid: string; type: string; jsonData: Record<string, unknown> }[] };
    const prom = doc.datasources.find((x) => x.type === 'prometheus')!;
    const jaeger = doc.datasources.find((x) => x.type === 'jaeger')!;
    expect(prom.uid).toBe(PROMETHEUS_UID);
    expect(jaeger.uid).toBe(JAEGER_UID);
    const t2m = jaeger.jsonData.tracesToMetrics as { datasourceUid: string; queries: { query: string }[] };
    expect(t2m.datasourceUid).toBe(PROMETHEUS_UID);
    expect(t2m.queries.every((q) => q.query.includes('traces_span_metrics_'))).toBe(true);
  });

  it('has a file provider', () => {
    const doc = parse(files.get('provisioning/dashboards/meshtel.yml')!) as { providers: { type: string; options: { path: string } }[] };
    expect(doc.providers[0]!.type).toBe('file');
    expect(doc.providers[0]!.options.path).toBe(GRAFANA_DASHBOARDS_PATH);
  });

  it('leaves Grafana only the datasource URLs to fill in from its environment', () => {
    // Grafana's provisioning reads every string value through its interpolation
    // (pkg/services/provisioning/values): split on `$$` (a literal `$`), each part through Go's
    // os.ExpandEnv (`$NAME`, `${NAME}`, and the shell's special `$*`, `$1`, ...), joined by `$`.
    const env: Record<string, string> = { [DATASOURCE_URL_ENV.prometheus]: 'http://prom.example:9090', [DATASOURCE_URL_ENV.jaeger]: 'http://jaeger.example:16686' };
    const unknown: string[] = [];
    const expand = (v: string) =>
      v
        .split('$$')
        .map((part) =>
          part.replace(/\$(?:\{([^}]*)\}|([A-Za-z0-9_]+)|([*#@!?$-]))/g, (m, braced?: string, bare?: string) => {
            const name = braced ?? bare;
            if (name === undefined || env[name] === undefined) unknown.push(m);
            return name === undefined ? '' : (env[name] ?? '');
          }),
        )
        .join('$');
    const interpolate = (x: unknown): unknown =>
      typeof x === 'string' ? expand(x) : Array.isArray(x) ? x.map(interpolate) : typeof x === 'object' && x !== null ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, interpolate(v)])) : x;
    for (const file of ['provisioning/datasources/meshtel.yml', 'provisioning/dashboards/meshtel.yml']) interpolate(parse(files.get(file)!));
    expect(unknown, 'variables Grafana would expand').toEqual([]);
    const doc = interpolate(parse(files.get('provisioning/datasources/meshtel.yml')!)) as { datasources: { type: string; url: string; jsonData: { tracesToMetrics?: { queries: { query: string }[] } } }[] };
    expect(doc.datasources.map((d) => [d.type, d.url])).toEqual([
      ['prometheus', env[DATASOURCE_URL_ENV.prometheus]],
      ['jaeger', env[DATASOURCE_URL_ENV.jaeger]],
    ]);
    // Grafana's own template variable reaches the trace-to-metrics queries intact.
    for (const q of doc.datasources.find((d) => d.type === 'jaeger')!.jsonData.tracesToMetrics!.queries) expect(q.query).toMatch(/\{\$__tags[,}]/);
  });
});
