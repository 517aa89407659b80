import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The suite's full test titles, as mocha itself reports them: a dry run (tests are loaded and
 * listed, none is run) with the JSON reporter writing to a file, so a test that prints while
 * loading cannot garble the list. Titles built in loops come out as mocha runs them.
 */
export function listTestTitles(options: { root: string; specs: readonly string[] }): string[] {
  return listTests(options).map((test) => test.fullTitle);
}

export interface ListedTest {
  fullTitle: string;
  /** The compiled file, absolute. */
  file: string;
}

export function listTests(options: { root: string; specs: readonly string[] }): ListedTest[] {
  const folder = mkdtempSync(path.join(tmpdir(), 'signpost-safety-'));
  const output = path.join(folder, 'tests.json');
  try {
    const mocha = require.resolve('mocha/bin/mocha.js');
    const args = ['--no-config', '--dry-run', '--forbid-only', '--reporter', 'json', '--reporter-option', `output=${output}`, ...options.specs];
    const run = spawnSync(process.execPath, [mocha, ...args], { cwd: options.root, encoding: 'utf8' });
    if (run.status !== 0) {
      throw new Error(`mocha could not list the tests (exit ${run.status}):\n${run.stderr || run.stdout}`);
    }
    const report = JSON.parse(readFileSync(output, 'utf8')) as { tests: ListedTest[] };
    if (report.tests.length === 0) throw new Error(`mocha found no tests in ${options.specs.join(', ')}: build them first (npm run build)`);
    return report.tests.map(({ fullTitle, file }) => ({ fullTitle, file }));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The spec globs the suite runs with, from .mocharc.json. */
export function configuredSpecs(root: string): string[] {
  const config = JSON.parse(readFileSync(path.join(root, '.mocharc.json'), 'utf8')) as { spec?: string | string[] };
  return ([] as string[]).concat(config.spec ?? []);
}

/**
 * Compiled test files whose TypeScript source is gone. tsc never deletes what it once wrote, so
 * a deleted test file would live on in dist/ and still count as evidence.
 */
export function compiledWithoutSource(root: string, files: readonly string[]): string[] {
  const dist = path.join(root, 'dist');
  return [...new Set(files)]
    .filter((file) => file.startsWith(dist + path.sep))
    .filter((file) => !existsSync(path.join(root, path.relative(dist, file)).replace(/\.js$/, '.ts')))
    .map((file) => path.relative(root, file));
}
