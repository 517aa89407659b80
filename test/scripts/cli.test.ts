import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { referralStorage } from '../../storage/referralStorage';
import { testTables } from '../support/azurite';
import { sampleReferral } from '../support/fixtures';

const dist = path.resolve(__dirname, '..', '..');
const directoryFile = path.resolve(dist, '..', 'domain/directory/southwark-services.json');

function run(script: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(process.execPath, [path.join(dist, 'scripts', script), ...args], { encoding: 'utf8', env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('Command-line tools', () => {
  let folder: string;
  before(() => (folder = mkdtempSync(path.join(tmpdir(), 'signpost-cli-'))));
  after(() => rmSync(folder, { recursive: true, force: true }));
  const write = (name: string, content: unknown) => {
    const file = path.join(folder, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  it('match prints one JSON object with every service placed, and exits 0', () => {
    const { code, stdout } = run('match.js', [write('person.json', { age: 67, borough: 'southwark', sociallyIsolated: true, referralRoute: 'gp' })]);
    expect(code).to.equal(0);
    const output = JSON.parse(stdout);
    expect(output.urgent).to.equal(false);
    expect(output.eligible.map((s: { serviceId: string }) => s.serviceId)).to.deep.equal(['sail', 'sail-care-navigation']);
    expect(output.eligible[0].reasons).to.have.length(4);
    expect(output.nearMiss).to.deep.equal([]);
    expect(output.eligible.length + output.nearMiss.length + output.ineligible.length).to.equal(13);
    expect(output.fallback).to.equal(null);
  });

  it('match answers a crisis with urgent and no routing @safety', () => {
    const { code, stdout } = run('match.js', [write('crisis.json', { crisis: true, age: 40 })]);
    expect(code).to.equal(0);
    const output = JSON.parse(stdout);
    expect(output.urgent).to.equal(true);
    expect(output.eligible).to.deep.equal([]);
    expect(JSON.stringify(output.urgentActions)).to.contain('999');
  });

  it('match reports every bad field on stderr and exits 2', () => {
    const { code, stdout, stderr } = run('match.js', [write('bad.json', { age: 'old', borough: 'narnia', shoeSize: 9 })]);
    expect(code).to.equal(2);
    expect(stdout).to.equal('');
    expect(stderr).to.match(/^age: /m).and.match(/^borough: /m).and.match(/shoeSize/);
    expect(run('match.js', [write('broken.json', '{ nope')]).code).to.equal(2);
    expect(run('match.js', []).code).to.equal(2);
  });

  it('directory validate accepts the checked-in file and names the service and field of each problem', () => {
    const ok = run('directory.js', ['validate', directoryFile]);
    expect(ok.code).to.equal(0);
    expect(ok.stdout).to.contain('13 services, 9 take referrals');

    const broken = JSON.parse(readFileSync(directoryFile, 'utf8'));
    broken.services[5].eligibility[0].count = 'three';
    const bad = run('directory.js', ['validate', write('directory.json', broken)]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('service "time-and-talents": eligibility.0.count');
  });

  it('report rebuild recomputes the totals from the referrals, says what differed, and finds nothing the second time', async () => {
    const { azurite, tables } = await testTables();
    try {
      // A referral stored without counting (as by a process that died before counting it).
      const referral = sampleReferral();
      await referralStorage(tables).referrals.submit(referral, { referralId: referral.id, at: referral.createdAt, actor: { id: '29:r' }, action: 'referral.submitted', detail: { serviceId: 'sail' } });
      const env = { ...process.env, SIGNPOST_STORAGE_CONNECTION_STRING: azurite.connectionString };
      const first = run('report.js', ['rebuild', '2026'], env);
      expect(first.stdout).to.contain('from 1 referrals').and.contain('1 rows differed').and.contain('"sail","Lordship Lane Surgery"');
      expect(first.code).to.equal(3);
      const second = run('report.js', ['rebuild', '2026'], env);
      expect(second.stdout).to.contain('The running totals were right.');
      expect(second.code).to.equal(0);
      expect(run('report.js', ['rebuild', 'soon'], env).code).to.equal(2);
    } finally {
      await azurite.stop();
    }
  });
});
