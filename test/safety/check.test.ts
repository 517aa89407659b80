import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkSafety, isTaggedAsSafety, logProblems, parseHazardLog, testProblems } from '../../safety/check';
import { HazardLog, LIKELIHOODS, riskRating, SEVERITIES } from '../../safety/hazardLog';
import { renderSafetyCase } from '../../safety/report';
import { configuredSpecs, listTestTitles } from '../../safety/testTitles';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const PROVES_STOP = 'Safety stop stops the referral @safety';
const PROVES_ADVICE = 'Safety stop shows what to do now @safety';

/** A small, consistent log: one hazard, two controls, each proved by one tagged test. */
function smallLog(): HazardLog {
  return {
    system: 'Signpost',
    scope: 'The referral dialog',
    intendedUse: 'Referring to social prescribing',
    notIntendedFor: ['Crisis care'],
    hazards: [
      {
        id: 'H01',
        title: 'A person in crisis is routed to a non-urgent service',
        description: 'Someone at immediate risk is referred.',
        causes: ['The safety question is skipped.'],
        effect: 'Urgent help is delayed.',
        initialRisk: { severity: 'Major', likelihood: 'Medium', rating: 3 },
        controls: [
          { id: 'H01-C1', control: 'The referral stops.', tests: [PROVES_STOP] },
          { id: 'H01-C2', control: 'What to do now is shown.', tests: [PROVES_ADVICE] },
        ],
        residualRisk: { severity: 'Major', likelihood: 'Very low', rating: 2, rationale: 'It relies on the answer.' },
        openActions: [{ id: 'H01-A1', action: 'Review the wording.', owner: 'Clinical safety officer' }],
      },
    ],
  };
}
const suite = [PROVES_STOP, PROVES_ADVICE, 'Safety stop is a valid card'];

describe('Hazard log check', () => {
  it('rates risk on the DCB0129 5x5 matrix', () => {
    expect(riskRating('Minor', 'Very low')).to.equal(1);
    expect(riskRating('Major', 'Medium')).to.equal(3);
    expect(riskRating('Significant', 'Very high')).to.equal(4);
    expect(riskRating('Catastrophic', 'Very low')).to.equal(3);
    expect(riskRating('Catastrophic', 'Very high')).to.equal(5);
    // Never lower for a worse severity or a likelier harm.
    for (const likelihood of LIKELIHOODS) {
      for (let s = 1; s < SEVERITIES.length; s += 1) expect(riskRating(SEVERITIES[s], likelihood)).to.be.at.least(riskRating(SEVERITIES[s - 1], likelihood));
    }
    for (const severity of SEVERITIES) {
      for (let l = 1; l < LIKELIHOODS.length; l += 1) expect(riskRating(severity, LIKELIHOODS[l])).to.be.at.least(riskRating(severity, LIKELIHOODS[l - 1]));
    }
  });

  it('finds nothing wrong with a consistent log and suite', () => {
    expect(checkSafety({ data: smallLog(), testTitles: suite }).problems).to.deep.equal([]);
  });

  it('fails when a hazard names a test that does not exist', () => {
    const problems = checkSafety({ data: smallLog(), testTitles: suite.filter((title) => title !== PROVES_ADVICE) }).problems;
    expect(problems).to.deep.equal([`H01-C2 names a test that does not exist: "${PROVES_ADVICE}"`]);
  });

  it('fails when a control has no test', () => {
    const log = smallLog();
    log.hazards[0].controls[1].tests = [];
    const problems = checkSafety({ data: log, testTitles: suite }).problems;
    expect(problems[0]).to.equal('H01-C2 has no test: name the mocha test that proves "What to do now is shown."');
    // Its test, still tagged, is now named by nobody: that is reported too.
    expect(problems[1]).to.contain(`"${PROVES_ADVICE}" is tagged @safety but no hazard names it`);
  });

  it('fails when a tagged test is named by no hazard', () => {
    const problems = checkSafety({ data: smallLog(), testTitles: [...suite, 'Safety stop records only the fact @safety'] }).problems;
    expect(problems).to.deep.equal([
      '"Safety stop records only the fact @safety" is tagged @safety but no hazard names it: name it under the control it proves, or remove the tag',
    ]);
  });

  it('fails when a named test is not tagged, or its title is not unique', () => {
    const log = smallLog();
    log.hazards[0].controls[0].tests = ['Safety stop is a valid card'];
    expect(testProblems(log, suite)).to.deep.equal([
      'H01-C1 names "Safety stop is a valid card", which is not tagged @safety: add the tag to its title',
      `"${PROVES_STOP}" is tagged @safety but no hazard names it: name it under the control it proves, or remove the tag`,
    ]);
    expect(testProblems(smallLog(), [...suite, PROVES_STOP])).to.deep.equal([`H01-C1 names "${PROVES_STOP}", which is the title of 2 tests: make it unique`]);
  });

  it('fails when a rating is not the one the matrix gives, or the residual risk is higher than the initial', () => {
    const log = smallLog();
    log.hazards[0].initialRisk.rating = 2;
    log.hazards[0].residualRisk = { severity: 'Major', likelihood: 'High', rating: 4, rationale: 'Worse.' };
    expect(logProblems(log)).to.deep.equal([
      'H01 initial risk: Major and Medium rate 3 on the DCB0129 matrix, not 2',
      'H01: the residual risk (4) is higher than the initial risk (2)',
    ]);
  });

  it('fails on ids used twice or listed under another hazard', () => {
    const log = smallLog();
    log.hazards[0].controls[1].id = 'H01-C1';
    log.hazards[0].openActions[0].id = 'H02-A1';
    expect(logProblems(log)).to.deep.equal(['H01-C1 is used twice', 'H02-A1 is listed under H01']);
  });

  it('names the field of every problem in the log\'s shape, and checks nothing else until it is right', () => {
    const data = JSON.parse(JSON.stringify(smallLog()));
    delete data.hazards[0].effect;
    data.hazards[0].initialRisk.severity = 'Dreadful';
    data.hazards[0].controls[0].id = 'C1';
    const problems = checkSafety({ data, testTitles: [] }).problems;
    expect(problems.some((problem) => problem.startsWith('hazards.0.effect: '))).to.equal(true);
    expect(problems.some((problem) => problem.startsWith('hazards.0.initialRisk.severity: '))).to.equal(true);
    expect(problems).to.include('hazards.0.controls.0.id: a control id looks like H01-C1');
    expect(parseHazardLog({ hazards: [] }).problems).to.include('system: Required');
  });

  it('fails when the committed safety case summary is not what the log gives now', () => {
    const log = smallLog();
    const report = (committed: string | undefined) => ({ committed, current: renderSafetyCase, path: 'safety/safety-case.md' });
    expect(checkSafety({ data: log, testTitles: suite, report: report(renderSafetyCase(log)) }).problems).to.deep.equal([]);
    const edited = { ...log, scope: 'Something else' };
    expect(checkSafety({ data: edited, testTitles: suite, report: report(renderSafetyCase(log)) }).problems).to.deep.equal([
      'safety/safety-case.md is not what the hazard log gives now: run npm run safety -- report, and commit it',
    ]);
    expect(checkSafety({ data: log, testTitles: suite, report: report(undefined) }).problems).to.have.length(1);
  });

  it('recognises the tag as a word of its own', () => {
    expect(isTaggedAsSafety('Safety stop stops @safety')).to.equal(true);
    expect(isTaggedAsSafety('@safety first')).to.equal(true);
    expect(isTaggedAsSafety('Safety stop stops')).to.equal(false);
    expect(isTaggedAsSafety('mail to ops@safety.example')).to.equal(false);
  });
});

describe('The checked-in hazard log against the test suite', () => {
  let log: HazardLog;
  let titles: string[];
  before(function () {
    this.timeout(120_000);
    const parsed = parseHazardLog(JSON.parse(readFileSync(path.join(ROOT, 'safety/hazards.json'), 'utf8')));
    expect(parsed.problems).to.deep.equal([]);
    log = parsed.log!;
    titles = listTestTitles({ root: ROOT, specs: configuredSpecs(ROOT) });
  });

  it('covers the twelve hazards the issue lists, and more', () => {
    const hazards = log.hazards.map((hazard) => hazard.title.toLowerCase()).join('\n');
    for (const hazard of ['crisis', 'no match', 'lost, duplicated or sent to the wrong service', 'unaccepted', 'escalation', 'contact details', 'decline', 'outcome scores', 'bank holidays', 'stale card', 'identifiers into email or logs', 'embedded default']) {
      expect(hazards, hazard).to.contain(hazard);
    }
  });

  it('fails, naming the test, when any one safety test is removed from the suite', () => {
    expect(checkSafety({ data: log, testTitles: titles }).problems).to.deep.equal([]);
    const named = [...new Set(log.hazards.flatMap((hazard) => hazard.controls.flatMap((control) => control.tests)))];
    expect(named.length).to.be.greaterThan(50);
    for (const removed of named) {
      const problems = testProblems(log, titles.filter((title) => title !== removed));
      expect(problems.length, removed).to.be.greaterThan(0);
      expect(problems.every((problem) => problem.includes(`names a test that does not exist: "${removed}"`)), removed).to.equal(true);
    }
  });

  it('fails when the tag is taken off a named test', () => {
    const [first] = log.hazards[0].controls[0].tests;
    const untagged = first.replace(/ @safety$/, '');
    expect(testProblems(log, titles.map((title) => (title === first ? untagged : title)))).to.deep.equal([
      `${log.hazards[0].controls[0].id} names "${first}", but that test has lost its @safety tag: put it back, or say in the log what proves the control now`,
    ]);
  });
});
