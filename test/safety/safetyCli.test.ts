import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const DIST = path.resolve(__dirname, '..', '..');
const ROOT = path.resolve(DIST, '..');
const LOG = path.join(ROOT, 'safety/hazards.json');
const REPORT = path.join(ROOT, 'safety/safety-case.md');

function safety(args: string[]) {
  const result = spawnSync(process.execPath, [path.join(DIST, 'scripts', 'safety.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The compiled test files, as paths relative to the repository. */
function compiledTests(folder = path.join(DIST, 'test')): string[] {
  return readdirSync(folder).flatMap((name) => {
    const full = path.join(folder, name);
    if (statSync(full).isDirectory()) return compiledTests(full);
    return name.endsWith('.test.js') ? [path.relative(ROOT, full)] : [];
  });
}

describe('npm run safety (the command line, on the real log and the compiled suite)', function () {
  this.timeout(120_000);
  let folder: string;
  before(() => (folder = mkdtempSync(path.join(tmpdir(), 'signpost-safety-cli-'))));
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('check passes on the checked-in log, the suite and the committed summary, and exits 0', () => {
    const { code, stdout, stderr } = safety(['check']);
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(stdout).to.match(/^safety check passed: \d+ hazards, \d+ controls/).and.contain('safety/safety-case.md is up to date');
  });

  it('check fails, naming the missing tests, when a test file holding safety tests is taken out of the suite', () => {
    const outcomes = path.join('dist', 'test', 'domain', 'outcomes.test.js');
    const specs = compiledTests().filter((file) => file !== outcomes);
    expect(specs).to.have.length(compiledTests().length - 1);
    const { code, stderr } = safety(['check', ...specs.flatMap((spec) => ['--spec', spec])]);
    expect(code).to.equal(1);
    expect(stderr).to.contain('H08-C1 names a test that does not exist: "Outcome measures (pure) converts every raw score from 7 to 35');
    expect(stderr).to.match(/safety check failed: \d+ problems in safety\/hazards.json/);
  });

  it('check fails when a control loses its tests, and when the summary no longer matches the log', () => {
    const log = JSON.parse(readFileSync(LOG, 'utf8'));
    const control = log.hazards[0].controls[0];
    control.tests = [];
    const edited = path.join(folder, 'hazards.json');
    writeFileSync(edited, JSON.stringify(log));
    const { code, stderr } = safety(['check', '--log', edited]);
    expect(code).to.equal(1);
    expect(stderr).to.contain(`${control.id} has no test`);
    expect(stderr).to.contain('safety/safety-case.md is not what the hazard log gives now');
  });

  it('report writes the summary from the log, the same every time, and refuses a log whose ratings are wrong', () => {
    const written = path.join(folder, 'safety-case.md');
    const { code, stdout } = safety(['report', '--report', written]);
    expect(code).to.equal(0);
    expect(stdout).to.contain('wrote');
    const summary = readFileSync(written, 'utf8');
    expect(summary).to.equal(readFileSync(REPORT, 'utf8'));
    expect(summary).to.contain('not certified').and.contain('## What a deploying organisation must still do (DCB0160)').and.contain('## Open actions');

    const log = JSON.parse(readFileSync(LOG, 'utf8'));
    log.hazards[0].residualRisk.rating = 1;
    const wrong = path.join(folder, 'wrong.json');
    writeFileSync(wrong, JSON.stringify(log));
    const refused = path.join(folder, 'refused.md');
    const result = safety(['report', '--log', wrong, '--report', refused]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('H01 residual risk: ').and.contain('not 1');
    expect(existsSync(refused)).to.equal(false);
  });

  it('check refuses a compiled test whose source was deleted, which tsc leaves behind in dist/', () => {
    const stale = mkdtempSync(path.join(DIST, 'stale-'));
    try {
      const compiled = path.join(stale, 'deleted.test.js');
      writeFileSync(compiled, "describe('A deleted test file', () => { it('still proves a control @safety', () => {}); });\n");
      const { code, stderr } = safety(['check', '--spec', path.relative(ROOT, compiled)]);
      expect(code).to.equal(1);
      expect(stderr).to.contain(`${path.relative(ROOT, compiled)} has no source any more`);
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
  });

  it('explains its usage and exits 2 when asked for something else', () => {
    expect(safety([]).code).to.equal(2);
    expect(safety(['prove']).stderr).to.contain('usage: npm run safety -- check|report');
    expect(safety(['check', '--spec']).code).to.equal(2);
  });
});
