/**
 * Summarises V8 CPU profiles (`.cpuprofile`, from `node --cpu-prof` or `run.js --profile DIR`)
 * by self time: per area (meshtel folder, npm package, node internals, GC) and per function,
 * meshtel's own functions mapped back to their TypeScript source through the build's source maps.
 *
 *   node dist/bench/profile.js FILE.cpuprofile [--top N]
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { relative, resolve } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

/** `collector/otlp/protobuf-reader.ts:40` for meshtel's code (via source maps), else a short url. */
class Locator {
  private readonly maps = new Map<string, SourceMap | undefined>();

  locate(frame: CallFrame): string {
    if (frame.url === '') return '';
    if (!frame.url.startsWith('file://')) return frame.url;
    const file = fileURLToPath(frame.url);
    const local = relative(ROOT, file);
    if (local.startsWith('node_modules')) return local.replace(/^node_modules\//, '');
    const entry = this.map(file)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry !== undefined && 'originalSource' in entry) {
      const source = relative(ROOT, fileURLToPath(new URL(entry.originalSource, frame.url)));
      return `${source}:${entry.originalLine + 1}`;
    }
    return `${local}:${frame.lineNumber + 1}`;
  }

  private map(file: string): SourceMap | undefined {
    if (!this.maps.has(file)) {
      const path = `${file}.map`;
      this.maps.set(file, existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]) : undefined);
    }
    return this.maps.get(file);
  }
}

/** What a frame belongs to: `collector/otlp`, `fastify`, `node internals`, `(garbage collector)`. */
function areaOf(frame: CallFrame): string {
  if (frame.url === '') return `(${frame.functionName.replace(/[()]/g, '')})`;
  if (frame.url.startsWith('node:')) return 'node internals';
  const local = frame.url.startsWith('file://') ? relative(ROOT, fileURLToPath(frame.url)) : frame.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(local);
  if (pkg) return pkg[1]!;
  const parts = local.replace(/^dist\//, '').split('/');
  return parts.length > 2 ? `${parts[0]!}/${parts[1]!}` : parts[0]!;
}

export function summarise(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const locator = new Locator();
  const functions = new Map<string, { ms: number; name: string; where: string; area: string }>();
  const areas = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byId.get(profile.samples[i]!)!;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}`;
    let f = functions.get(key);
    if (f === undefined) {
      f = { ms: 0, name: frame.functionName || '(anonymous)', where: locator.locate(frame), area };
      functions.set(key, f);
    }
    f.ms += ms;
  }
  const pct = (ms: number) => `${((100 * ms) / total).toFixed(1).padStart(5)}%`;
  const row = (ms: number, label: string) => `  ${ms.toFixed(0).padStart(7)} ms ${pct(ms)}  ${label}`;
  const sorted = [...functions.values()].sort((a, b) => b.ms - a.ms);
  const ours = sorted.filter((f) => /^(collector|exporters)\//.test(f.area));
  return [
    `total ${total.toFixed(0)} ms sampled`,
    '',
    'self time by area',
    ...[...areas].sort((a, b) => b[1] - a[1]).slice(0, top).map(([area, ms]) => row(ms, area)),
    '',
    `top ${top} functions by self time`,
    ...sorted.slice(0, top).map((f) => row(f.ms, `${f.name.padEnd(36)} ${f.where}`)),
    '',
    `top ${top} functions in meshtel's code (collector/, exporters/)`,
    ...ours.slice(0, top).map((f) => row(f.ms, `${f.name.padEnd(36)} ${f.where}`)),
  ].join('\n');
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt === -1 ? 25 : Number(args[topAt + 1]);
  const files = args.filter((a, i) => a !== '--top' && i !== topAt + 1);
  if (files.length === 0 || !(top > 0)) {
    console.error('usage: node dist/bench/profile.js FILE.cpuprofile... [--top N]');
    process.exit(2);
  }
  for (const file of files) {
    console.log(`== ${file}`);
    console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top));
  }
}

main();
