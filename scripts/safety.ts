import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkSafety, logProblems, parseHazardLog } from '../safety/check';
import { renderSafetyCase } from '../safety/report';
import { compiledWithoutSource, configuredSpecs, listTests } from '../safety/testTitles';

/**
 * `npm run safety -- check`: the hazard log against the compiled test suite and the committed
 * safety case summary. Exit 0 when every control is proved by tagged tests that exist, 1 with
 * every problem on stderr, 2 for a usage error.
 * `npm run safety -- report`: writes the safety case summary (safety/safety-case.md) from the log.
 * Options: --log <file>, --report <file>, and --spec <glob> (repeatable) in place of .mocharc.json's.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const USAGE = 'usage: npm run safety -- check|report [--log <file>] [--report <file>] [--spec <glob>]...\n';

interface Options {
  command: 'check' | 'report';
  log: string;
  report: string;
  specs: string[];
}

function parseArguments(argv: string[]): Options | undefined {
  const [command, ...rest] = argv;
  if (command !== 'check' && command !== 'report') return undefined;
  const options: Options = { command, log: path.join(ROOT, 'safety/hazards.json'), report: path.join(ROOT, 'safety/safety-case.md'), specs: [] };
  for (let index = 0; index < rest.length; index += 2) {
    const [flag, value] = [rest[index], rest[index + 1]];
    if (value === undefined) return undefined;
    if (flag === '--log') options.log = path.resolve(value);
    else if (flag === '--report') options.report = path.resolve(value);
    else if (flag === '--spec') options.specs.push(value);
    else return undefined;
  }
  return options;
}

function readLog(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${path.relative(ROOT, file) || file}: ${(error as Error).message}`);
  }
}

function main(argv: string[]): number {
  const options = parseArguments(argv);
  if (!options) {
    process.stderr.write(USAGE);
    return 2;
  }
  const where = (file: string) => path.relative(ROOT, file) || file;
  try {
    const data = readLog(options.log);
    if (options.command === 'report') {
      const parsed = parseHazardLog(data);
      const problems = parsed.log ? logProblems(parsed.log) : parsed.problems;
      if (!parsed.log || problems.length > 0) {
        for (const problem of problems) process.stderr.write(`${problem}\n`);
        process.stderr.write(`${where(options.log)}: fix these before writing the safety case\n`);
        return 1;
      }
      writeFileSync(options.report, renderSafetyCase(parsed.log));
      process.stdout.write(`wrote ${where(options.report)} (${parsed.log.hazards.length} hazards)\n`);
      return 0;
    }

    const tests = listTests({ root: ROOT, specs: options.specs.length > 0 ? options.specs : configuredSpecs(ROOT) });
    const stale = compiledWithoutSource(ROOT, tests.map((test) => test.file));
    if (stale.length > 0) {
      for (const file of stale) process.stderr.write(`${file} has no source any more: delete dist/ and build again (npm run build)\n`);
      return 1;
    }
    const testTitles = tests.map((test) => test.fullTitle);
    const { log, problems } = checkSafety({
      data,
      testTitles,
      report: {
        path: where(options.report),
        committed: existsSync(options.report) ? readFileSync(options.report, 'utf8') : undefined,
        current: renderSafetyCase,
      },
    });
    if (problems.length > 0) {
      for (const problem of problems) process.stderr.write(`${problem}\n`);
      process.stderr.write(`safety check failed: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${where(options.log)}\n`);
      return 1;
    }
    const controls = log!.hazards.flatMap((hazard) => hazard.controls);
    const named = new Set(controls.flatMap((control) => control.tests)).size;
    process.stdout.write(
      `safety check passed: ${log!.hazards.length} hazards, ${controls.length} controls, each proved by tests that exist; ` +
        `${named} tests tagged @safety, every one named by a hazard (of ${testTitles.length} tests); ${where(options.report)} is up to date\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
