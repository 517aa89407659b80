import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { southwarkDirectory } from '../../domain/directory/southwark';
import { sampleActivities } from '../../domain/directory/sampleActivities';
import { fromOpenReferralUk, OpenReferralImportError, toOpenReferralUk } from '../../storage/openReferralUk';
import { DirectoryRepository } from '../../storage/directoryRepository';
import { ActivityRepository } from '../../storage/activityRepository';
import { testTables } from '../support/azurite';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';

const dist = path.resolve(__dirname, '..', '..');
const vendored = path.resolve(dist, '..', 'vendor/open-referral-uk/service.json');

/** The published Open Referral UK service schema, as vendored (it uses keywords of its own beyond JSON Schema, hence not strict). */
function profileValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(vendored, 'utf8')));
}

const directories = () => ({ services: southwarkDirectory(), activities: sampleActivities() });
type Page = { contents: Array<Record<string, any>> } & Record<string, unknown>;
const exported = () => JSON.parse(JSON.stringify(toOpenReferralUk(directories()))) as Page;

function problemsOf(input: unknown): string[] {
  try {
    fromOpenReferralUk(input);
  } catch (error) {
    if (error instanceof OpenReferralImportError) return error.problems;
    throw error;
  }
  return [];
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(dist, 'scripts', 'directory.js'), ...args], { env: { PATH: process.env.PATH, ...env }, maxBuffer: 20_000_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('Open Referral UK export and import', () => {
  it('exports every service and activity as a service of the profile, valid against its published schema', () => {
    const validate = profileValidator();
    const page = exported();
    expect(page.contents).to.have.length(13 + sampleActivities().length);
    expect(page).to.include({ total_items: page.contents.length, page_number: 1, total_pages: 1, first_page: true, last_page: true, empty: false });
    for (const service of page.contents) {
      expect(validate(service), `${service.name}: ${JSON.stringify(validate.errors)}`).to.equal(true);
    }
    // The check can fail: a status the profile does not have, or an id that is not a UUID, is refused.
    expect(validate({ ...page.contents[0], status: 'paused' })).to.equal(false);
    expect(validate({ ...page.contents[0], id: 'sail' })).to.equal(false);
  });

  it('puts what the profile can say in the profile’s own fields', () => {
    const page = exported();
    const sail = page.contents.find((service) => service.signpost.id === 'sail')!;
    expect(sail).to.include({ name: 'Safe and Independent Living (SAIL) signposting programme', status: 'active', minimum_age: 50, assured_date: southwarkDirectory()[0].lastVerified });
    expect(sail.organization.name).to.equal('Age UK Lewisham and Southwark');
    expect(sail.service_areas.map((area: { name: string }) => area.name)).to.include('Southwark');
    const garden = page.contents.find((service) => service.signpost.id === 'community-garden-nunhead')!;
    expect(garden.schedules).to.deep.include({ id: garden.schedules[0].id, service_id: garden.id, freq: 'WEEKLY', byday: 'TU,SA', opens_at: '10:00', closes_at: '13:00', description: 'March to October' });
    expect(garden.attributes.map((attribute: any) => attribute.taxonomy_term.name)).to.deep.equal(['gardening-and-nature', 'volunteering']);
    expect(garden.cost_options[0].amount_description).to.equal('Free');
    expect(garden.service_at_locations[0].location.accessibility[0].description).to.match(/^Raised beds/);
    // Only what the profile has no place for travels in the extension.
    expect(Object.keys(garden.signpost).sort()).to.deep.equal(['howToJoin', 'id', 'illustrative', 'kind', 'maintainers', 'phone', 'postcodeDistrict']);
    expect(sail.signpost).to.not.have.any.keys('name', 'organisation', 'description', 'status', 'lastVerified');
  });

  it('round-trips: export, import, export gives the same file, and the import is the directory it came from', () => {
    const first = exported();
    const imported = fromOpenReferralUk(first);
    expect(imported.services).to.deep.equal(southwarkDirectory());
    expect(imported.activities).to.deep.equal(sampleActivities());
    expect(JSON.parse(JSON.stringify(toOpenReferralUk(imported)))).to.deep.equal(first);
  });

  it('round-trips paused and closed services: "temporarily closed" with the reopening date, and "inactive"', () => {
    const services = southwarkDirectory().map((service) =>
      service.id === 'sail' ? { ...service, status: 'paused' as const, reopensOn: '2027-02-01' } : service.id === 'bede-house' ? { ...service, status: 'closed' as const } : service,
    );
    const page = JSON.parse(JSON.stringify(toOpenReferralUk({ services, activities: sampleActivities() })));
    expect(page.contents.find((entry: any) => entry.signpost.id === 'sail').status).to.equal('temporarily closed');
    expect(page.contents.find((entry: any) => entry.signpost.id === 'bede-house').status).to.equal('inactive');
    expect(fromOpenReferralUk(page).services).to.deep.equal(services);
  });

  it('round-trips a stopped activity as "inactive", valid in the profile', () => {
    const activities = sampleActivities().map((activity) => (activity.id === 'men-in-sheds' ? { ...activity, stopped: true } : activity));
    const page = JSON.parse(JSON.stringify(toOpenReferralUk({ services: southwarkDirectory(), activities })));
    const sheds = page.contents.find((entry: any) => entry.signpost.id === 'men-in-sheds');
    expect(sheds.status).to.equal('inactive');
    expect(profileValidator()(sheds)).to.equal(true);
    expect(fromOpenReferralUk(page).activities).to.deep.equal(activities);
  });

  it('reads the profile’s fields on import, not a copy in the extension', () => {
    const page = exported();
    const sail = page.contents.find((service) => service.signpost.id === 'sail')!;
    sail.name = 'SAIL (renamed in the council directory)';
    sail.status = 'temporarily closed';
    sail.signpost.reopensOn = '2027-02-01'; // the profile has no reopening date: a paused service carries it in the extension
    sail.assured_date = '2026-11-01';
    const choir = page.contents.find((service) => service.signpost.id === 'community-choir')!;
    choir.schedules[0].byday = 'MO,TH';
    choir.attributes.pop();
    const imported = fromOpenReferralUk(page);
    expect(imported.services.find((service) => service.id === 'sail')).to.include({ name: 'SAIL (renamed in the council directory)', status: 'paused', reopensOn: '2027-02-01', lastVerified: '2026-11-01' });
    const read = imported.activities.find((activity) => activity.id === 'community-choir')!;
    expect(read.sessions[0].days).to.deep.equal(['monday', 'thursday']);
    expect(read.categories).to.deep.equal(['arts-and-creativity']);
  });

  it('refuses a bad file whole, naming every bad field of every entry', () => {
    const page = exported();
    page.contents[0].status = 'defunct';
    delete page.contents[1].name;
    page.contents[2].signpost.waitingTimeWeeks = { value: -3 };
    const garden = page.contents.find((service) => service.signpost.id === 'community-garden-nunhead')!;
    garden.schedules[0].byday = 'Tuesdays';
    const choir = page.contents.find((service) => service.signpost.id === 'community-choir')!;
    choir.attributes[0].taxonomy_term.name = 'knitting';
    delete page.contents[3].signpost;
    const problems = problemsOf(page);
    expect(problems).to.include(`entry #1 ("${page.contents[0].name}"): status: Signpost holds open ("active"), paused ("temporarily closed") or closed ("inactive") services, not defunct ones`);
    expect(problems.some((problem) => /^entry #2: name: /.test(problem))).to.equal(true);
    expect(problems.some((problem) => problem.startsWith(`service "${page.contents[2].signpost.id}": waitingTimeWeeks`))).to.equal(true);
    expect(problems.some((problem) => problem.startsWith('entry #4') && problem.includes('signpost: missing'))).to.equal(true);
    expect(problems.some((problem) => problem.includes('("Community gardening mornings"): schedules.0.byday: days as MO,TU'))).to.equal(true);
    expect(problems.some((problem) => problem.startsWith('activity "community-choir": categories.0:'))).to.equal(true);
    expect(problemsOf({ services: [] })).to.deep.equal(['(file): not an Open Referral UK page of services (no "contents" list)']);
  });

  describe('from the command line, on Azurite', () => {
    let azurite: RunningAzurite;
    let tables: TableConnection;
    let folder: string;
    before(async () => {
      ({ azurite, tables } = await testTables());
      folder = mkdtempSync(path.join(tmpdir(), 'signpost-oruk-'));
    });
    after(async () => {
      await azurite?.stop();
      rmSync(folder, { recursive: true, force: true });
    });

    it('exports, imports the same file, and keeps what was there when a bad file is refused', async () => {
      const env = { SIGNPOST_STORAGE_CONNECTION_STRING: azurite.connectionString };
      await new DirectoryRepository(tables).seedIfEmpty(southwarkDirectory());
      await new ActivityRepository(tables).seedIfEmpty(sampleActivities().slice(0, 3));

      const exportedNow = await cli(['export', '--format', 'openreferral-uk'], env);
      expect(exportedNow.code).to.equal(0);
      const page = JSON.parse(exportedNow.stdout) as Page;
      expect(page.contents).to.have.length(13 + 3);

      // The whole sample, one service dropped: both directories are replaced.
      const wanted = exported();
      wanted.contents = wanted.contents.filter((service) => service.signpost.id !== 'champs');
      const file = path.join(folder, 'dir.json');
      writeFileSync(file, JSON.stringify(wanted));
      const imported = await cli(['import', file], env);
      expect(imported.stderr).to.equal('');
      expect(imported.stdout).to.contain('Imported 12 services; removed champs.').and.contain(`Imported ${sampleActivities().length} activities; removed none.`);
      // Table storage lists entries by id, not in the file's order.
      const byId = (page: Page) => [...page.contents].sort((a, b) => (a.id < b.id ? -1 : 1));
      const again = JSON.parse((await cli(['export', '--format', 'openreferral-uk'], env)).stdout) as Page;
      expect(again.total_items).to.equal(wanted.contents.length);
      expect(byId(again)).to.deep.equal(byId(wanted));

      // A bad file changes neither directory.
      wanted.contents[0].status = 'defunct';
      wanted.contents.at(-1)!.cost_options = [];
      writeFileSync(file, JSON.stringify(wanted));
      const refused = await cli(['import', '--format', 'openreferral-uk', file], env);
      expect(refused.code).to.equal(2);
      expect(refused.stderr).to.contain('status:').and.contain('cost:');
      const kept = (await new DirectoryRepository(tables).list()).map((service) => service.id);
      expect(kept).to.have.length(12);
      expect(kept).to.not.include('champs');
      expect(await new ActivityRepository(tables).list()).to.have.length(sampleActivities().length);
    });
  });
});
