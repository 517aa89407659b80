import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { testTables } from '../support/azurite';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import { DirectoryRepository } from '../../storage/directoryRepository';
import { southwarkDirectory } from '../../domain/directory/southwark';
import { matchPerson } from '../../domain/eligibility/matcher';

const at = '2026-11-25T10:00:00.000Z';
const helen = { name: 'Helen Price', email: 'helen.price@example.org' };
const isolatedSouthwark70 = { age: 70, borough: 'southwark' as const, sociallyIsolated: true, referralRoute: 'gp' as const };

describe('Directory versions and history (Azurite)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  before(async () => ({ azurite, tables } = await testTables()));
  after(async () => azurite?.stop());

  async function seeded(table: string): Promise<DirectoryRepository> {
    // A clock that never moves: the 30-second cache never expires by itself, so a change is seen only because it clears it.
    const repository = new DirectoryRepository(tables, table, () => 0);
    await repository.seedIfEmpty(southwarkDirectory());
    return repository;
  }

  it('stores each change as a new version with who, when and the route, and matching uses it at once @safety', async () => {
    const repository = await seeded('dirversions1');
    const now = new Date(at);
    expect(matchPerson(isolatedSouthwark70, await repository.list(), { now }).eligible.map((m) => m.serviceId)).to.include('sail');
    expect(await repository.current('sail')).to.deep.include({ version: 1 });

    const paused = await repository.change('sail', 1, (sail) => ({ ...sail, status: 'paused', reopensOn: '2027-02-01' }), { route: 'teams', by: helen, at, note: 'Staff shortage' });
    expect(paused).to.deep.include({ ok: true, version: 2, changed: ['status', 'reopensOn'] });
    const result = matchPerson(isolatedSouthwark70, await repository.list(), { now });
    expect(result.eligible.map((m) => m.serviceId)).not.to.include('sail');
    expect(result.ineligible.find((m) => m.serviceId === 'sail')?.reasons).to.deep.equal(['Paused until 1 February 2027: not taking new referrals.']);

    const reopened = await repository.change('sail', 2, ({ reopensOn: _gone, ...sail }) => ({ ...sail, status: 'open', waitingTimeWeeks: { value: 4 } }), {
      route: 'email',
      by: helen,
      at: '2026-11-26T09:00:00.000Z',
    });
    expect(reopened).to.deep.include({ ok: true, version: 3 });
    expect((await repository.list()).find((s) => s.id === 'sail')?.waitingTimeWeeks.value).to.equal(4);

    const history = await repository.history('sail');
    expect(history.map((v) => [v.version, v.route, v.by.name])).to.deep.equal([
      [1, 'import', 'directory import'],
      [2, 'teams', 'Helen Price'],
      [3, 'email', 'Helen Price'],
    ]);
    expect(history[1]).to.deep.include({ at, changed: ['status', 'reopensOn'], note: 'Staff shortage' });
    expect(history[1].entry.status).to.equal('paused');
    expect(history[2].changed).to.have.members(['status', 'reopensOn', 'waitingTimeWeeks']);
    // Another service's history is its own.
    expect((await repository.history('champs')).map((v) => v.version)).to.deep.equal([1]);
  });

  it('refuses a change made against an older version, and changes nothing @safety', async () => {
    const repository = await seeded('dirversions2');
    expect(await repository.change('sail', 1, (sail) => ({ ...sail, waitingTimeWeeks: { value: 3 } }), { route: 'teams', by: helen, at })).to.deep.include({ ok: true, version: 2 });
    const stale = await repository.change('sail', 1, (sail) => ({ ...sail, status: 'closed' }), { route: 'email', by: helen, at });
    expect(stale).to.deep.equal({ ok: false, reason: 'stale', version: 2 });
    expect((await repository.current('sail'))?.service.status).to.equal('open');
    expect((await repository.history('sail')).map((v) => v.version)).to.deep.equal([1, 2]);
    expect(await repository.change('nonsense', 1, (s) => s, { route: 'teams', by: helen, at })).to.deep.equal({ ok: false, reason: 'unknown-entry' });
  });

  it('two changes racing on the same version: one lands, the other is refused as stale', async () => {
    const repository = await seeded('dirversions3');
    const other = new DirectoryRepository(tables, 'dirversions3');
    const outcomes = await Promise.all([
      repository.change('sail', 1, (sail) => ({ ...sail, waitingTimeWeeks: { value: 3 } }), { route: 'teams', by: helen, at }),
      other.change('sail', 1, (sail) => ({ ...sail, waitingTimeWeeks: { value: 9 } }), { route: 'email', by: helen, at }),
    ]);
    expect(outcomes.filter((outcome) => outcome.ok)).to.have.length(1);
    expect(outcomes.filter((outcome) => !outcome.ok && outcome.reason === 'stale')).to.have.length(1);
    expect((await repository.history('sail')).map((v) => v.version)).to.deep.equal([1, 2]);
  });

  it('refuses a change that breaks the schema, naming every bad field, and keeps what was there @safety', async () => {
    const repository = await seeded('dirversions4');
    const outcome = await repository.change('sail', 1, (sail) => ({ ...sail, status: 'paused', waitingTimeWeeks: { value: -2 }, contactRoute: '' }), { route: 'teams', by: helen, at });
    expect(outcome.ok).to.equal(false);
    const problems = outcome.ok === false && outcome.reason === 'invalid' ? outcome.problems : [];
    expect(problems.some((p) => p.startsWith('service "sail": waitingTimeWeeks.value'))).to.equal(true);
    expect(problems.some((p) => p.startsWith('service "sail": contactRoute'))).to.equal(true);
    expect(problems).to.include('service "sail": reopensOn: say when a paused service reopens, as YYYY-MM-DD');
    expect(await repository.change('sail', 1, (sail) => ({ ...sail, id: 'champs' }), { route: 'teams', by: helen, at })).to.deep.equal({
      ok: false,
      reason: 'invalid',
      problems: ['service "sail": id: cannot be changed'],
    });
    expect(await repository.current('sail')).to.deep.include({ version: 1 });
  });

  it('an import makes a new version only of the services it changes', async () => {
    const repository = await seeded('dirversions5');
    await repository.importAll(southwarkDirectory().map((s) => (s.id === 'sail' ? { ...s, waitingTimeWeeks: { value: 2 } } : s)));
    expect((await repository.history('sail')).map((v) => [v.version, v.route, v.changed])).to.deep.equal([
      [1, 'import', (await repository.history('sail'))[0].changed],
      [2, 'import', ['waitingTimeWeeks']],
    ]);
    expect((await repository.history('champs')).map((v) => v.version)).to.deep.equal([1]);
  });

  it('`directory -- history <service id>` prints every version, oldest first', async () => {
    const repository = await seeded('directory');
    await repository.change('sail', 1, (sail) => ({ ...sail, waitingTimeWeeks: { value: 5 } }), { route: 'teams', by: helen, at, note: 'New staff' });
    const script = path.resolve(__dirname, '..', '..', 'scripts', 'directory.js');
    const env = { PATH: process.env.PATH, SIGNPOST_STORAGE_CONNECTION_STRING: azurite.connectionString };
    const shown = spawnSync(process.execPath, [script, 'history', 'sail'], { encoding: 'utf8', env });
    expect(shown.status, shown.stderr).to.equal(0);
    expect(shown.stdout).to.match(/^version 1 {2}\S+ {2}import {2}by directory import\n {2}first version\n/);
    expect(shown.stdout).to.contain(`version 2  ${at}  teams  by Helen Price <helen.price@example.org>\n  waitingTimeWeeks: {"value":5}\n  note: New staff`);
    const missing = spawnSync(process.execPath, [script, 'history', 'nonsense'], { encoding: 'utf8', env });
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.contain('No history for "nonsense"');
  });
});
