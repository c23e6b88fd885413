#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, OVERRIDES } from '../config/load.js';
import { VERSION } from '../version.js';
import { CliError } from './admin-client.js';
import { alertsGenerateCommand } from './alerts.js';
import { runCommand } from './run.js';
import { edgesCommand, statCommand } from './stat.js';

const USAGE = `meshtel ${VERSION}: the telemetry pipeline of a service mesh

Usage:
  meshtel run [--config FILE] [flags]     run the collector (OTLP in, Prometheus /metrics out)
  meshtel stat [--admin URL] [--window 1m] [-n NAMESPACE] [-o table|json]
                                          golden metrics per workload
  meshtel edges [--admin URL] [--window 1m] [-n NAMESPACE] [-o table|json]
                                          who calls whom, secured or not
  meshtel check-config FILE               validate a config file
  meshtel alerts generate [--thresholds FILE] [--slo FILE] [--out DIR] [--max-for DURATION] [--check]
                                          write the Prometheus rule files (docs/alerts.md)
  meshtel version

Flags of "run" (each also a config key; flags override the environment, which overrides the file):
${OVERRIDES.map((o) => `  --${o.flag.padEnd(16)} ${o.env.padEnd(24)} ${o.description}`).join('\n')}
  --config FILE      MESHTEL_CONFIG           YAML config file (reference: docs/config.md)
  --demo                                      also run the example mesh (and Prometheus and
                                              Alertmanager when installed): what npm start does

The admin API of "stat" and "edges" defaults to MESHTEL_ADMIN_URL or http://127.0.0.1:9464.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const env = process.env;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case 'run': {
      const options: ParseOptions = { config: { type: 'string' }, demo: { type: 'boolean' } };
      for (const o of OVERRIDES) options[o.flag] = { type: 'string' };
      const { values } = parse(rest, options);
      await runCommand(values as Record<string, string | boolean | undefined>, env);
      return -1; // keeps running until a signal
    }
    case 'stat':
    case 'edges': {
      const { values } = parse(rest, {
        admin: { type: 'string' },
        window: { type: 'string', short: 'w' },
        namespace: { type: 'string', short: 'n' },
        output: { type: 'string', short: 'o' },
      });
      const flags = values as Record<string, string | undefined>;
      console.log(command === 'stat' ? await statCommand(flags, env) : await edgesCommand(flags, env));
      return 0;
    }
    case 'check-config': {
      const { positionals } = parse(rest, {}, true);
      if (positionals.length !== 1) throw new CliError('usage: meshtel check-config FILE', 2);
      loadConfig({ file: positionals[0] });
      console.log(`${positionals[0]}: valid`);
      return 0;
    }
    case 'alerts': {
      const [sub, ...args] = rest;
      if (sub !== 'generate') throw new CliError('usage: meshtel alerts generate [--thresholds FILE] [--slo FILE] [--out DIR] [--max-for DURATION] [--check]', 2);
      const { values } = parse(args, {
        thresholds: { type: 'string' },
        slo: { type: 'string' },
        out: { type: 'string' },
        'max-for': { type: 'string' },
        check: { type: 'boolean' },
      });
      console.log(alertsGenerateCommand(values));
      return 0;
    }
    case 'version':
    case '--version':
      console.log(VERSION);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`, 2);
  }
}

type ParseOptions = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

function parse(args: string[], options: ParseOptions, positionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${USAGE}`, 2);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exitCode = 1;
    } else if (e instanceof CliError) {
      console.error(`meshtel: ${e.message}`);
      process.exitCode = e.exitCode;
    } else {
      console.error(`meshtel: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  },
);
