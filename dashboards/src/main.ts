/**
 * `npm run dashboards`: writes the generated files under dashboards/ (or `--out DIR`); with
 * `--check`, writes nothing and exits 1 naming the files that differ.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDashboardFiles } from './generate.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'dashboards' }, check: { type: 'boolean', default: false } } });
const out = values.out;
const files = generateDashboardFiles();
if (values.check) {
  const stale = [...files].filter(([f, text]) => !existsSync(join(out, f)) || readFileSync(join(out, f), 'utf8') !== text).map(([f]) => join(out, f));
  if (stale.length > 0) {
    console.error([...stale.map((f) => `${f}: differs from what the generator makes`), 'run `npm run dashboards` and commit the result'].join('\n'));
    process.exit(1);
  }
  console.log(`${files.size} files up to date`);
} else {
  for (const [f, text] of files) {
    mkdirSync(dirname(join(out, f)), { recursive: true });
    writeFileSync(join(out, f), text);
  }
  console.log(`wrote ${files.size} files under ${out}/`);
}
