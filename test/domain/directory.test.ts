import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DirectoryValidationError, parseDirectory } from '../../domain/directory/schema';
import { southwarkDirectory } from '../../domain/directory/southwark';

const file = path.resolve(__dirname, '../../../domain/directory/southwark-services.json');
const raw = () => JSON.parse(readFileSync(file, 'utf8'));

function problemsOf(input: unknown): string[] {
  try {
    parseDirectory(input);
  } catch (error) {
    if (error instanceof DirectoryValidationError) return error.problems;
    throw error;
  }
  return [];
}

describe('Service directory', () => {
  it('the checked-in Southwark directory is valid and uses the ids from the review', () => {
    const ids = southwarkDirectory().map((service) => service.id);
    expect(ids).to.have.members([
      'sail', 'sail-care-navigation', 'alzheimers-society', 'red-cross-home-from-hospital', 'pembroke-house',
      'time-and-talents', 'bede-house', 'blackfriars', 'wellbeing-hub',
      'gstt-high-intensity-users', 'primary-care-navigation', 'healthy-churches', 'champs',
    ]);
  });

  it('says "not available" rather than inventing values @safety', () => {
    const bede = southwarkDirectory().find((service) => service.id === 'bede-house')!;
    expect(bede.eligibility).to.equal(null);
    expect(bede.referralRoutes).to.deep.equal({ value: null, note: 'Data not available in the review.' });
    expect(bede.contact).to.include({ phone: null, email: null, website: null });
    const hub = southwarkDirectory().find((service) => service.id === 'wellbeing-hub')!;
    expect(hub.contact.address).to.contain('29 Peckham Road');
  });

  it('names the service and the field of every problem, all at once @safety', () => {
    const input = raw();
    input.services[0].waitingTimeWeeks = { value: -1 };
    delete input.services[2].name;
    input.services[3].eligibility[0].rule = 'shoeSize';
    input.services[4].id = 'Pembroke House';
    const problems = problemsOf(input);
    expect(problems.some((p) => p.startsWith('service "sail": waitingTimeWeeks'))).to.equal(true);
    expect(problems.some((p) => p.startsWith('service "alzheimers-society": name'))).to.equal(true);
    expect(problems.some((p) => p.startsWith('service "red-cross-home-from-hospital": eligibility.0.rule'))).to.equal(true);
    expect(problems.some((p) => p.startsWith('service "Pembroke House": id'))).to.equal(true);
  });

  it('rejects duplicate ids, unknown fields and inconsistent referral settings', () => {
    const input = raw();
    input.services.push({ ...input.services[0] });
    input.services[1].colour = 'green';
    input.services[9].howPeopleReachIt = null; // a non-referral service must say how people reach it
    const problems = problemsOf(input);
    expect(problems).to.include('service "sail": id: appears more than once');
    expect(problems.some((p) => p.includes('sail-care-navigation') && p.includes('colour'))).to.equal(true);
    expect(problems.some((p) => p.includes('gstt-high-intensity-users: howPeopleReachIt'))).to.equal(false);
    expect(problems.some((p) => p.startsWith('service "gstt-high-intensity-users": howPeopleReachIt'))).to.equal(true);
  });

  it('needs a real reopening date for a paused service, and none otherwise @safety', () => {
    const input = raw();
    input.services[0].status = 'paused';
    input.services[1].status = 'paused';
    input.services[1].reopensOn = '2027-02-30';
    input.services[2].reopensOn = '2027-02-01';
    input.services[3].status = 'shut';
    input.services[4].maintainers = ['not an address'];
    const problems = problemsOf(input);
    expect(problems).to.include('service "sail": reopensOn: say when a paused service reopens, as YYYY-MM-DD');
    expect(problems).to.include(`service "${input.services[1].id}": reopensOn: not a real date`);
    expect(problems).to.include(`service "${input.services[2].id}": reopensOn: only for a paused service (this one is open)`);
    expect(problems.some((problem) => problem.startsWith(`service "${input.services[3].id}": status:`))).to.equal(true);
    expect(problems.some((problem) => problem.startsWith(`service "${input.services[4].id}": maintainers.0:`))).to.equal(true);

    const fixed = raw();
    fixed.services[0] = { ...fixed.services[0], status: 'paused', reopensOn: '2027-02-01', maintainers: ['Intake@Example.org'] };
    fixed.services[1] = { ...fixed.services[1], status: 'closed' };
    const [sail, second] = parseDirectory(fixed);
    expect(sail).to.include({ status: 'paused', reopensOn: '2027-02-01' });
    expect(sail.maintainers).to.deep.equal(['intake@example.org']);
    expect(second.status).to.equal('closed');
  });

  it('rejects a file that is not a directory', () => {
    expect(problemsOf({ services: [] })).to.have.length.greaterThan(0);
    expect(problemsOf('hello')).to.have.length.greaterThan(0);
  });
});
