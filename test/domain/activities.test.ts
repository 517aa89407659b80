import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ACTIVITY_CATEGORIES, ActivitiesValidationError, parseActivities } from '../../domain/directory/activities';
import { activitiesNear, searchActivities } from '../../domain/directory/activitySearch';
import { parseSearchQuery } from '../../domain/directory/search';
import { sampleActivities } from '../../domain/directory/sampleActivities';

const file = path.resolve(__dirname, '../../../domain/directory/sample-activities.json');
const raw = () => JSON.parse(readFileSync(file, 'utf8'));

function problemsOf(input: unknown): string[] {
  try {
    parseActivities(input);
  } catch (error) {
    if (error instanceof ActivitiesValidationError) return error.problems;
    throw error;
  }
  return [];
}

function search(typed: string, near = {}) {
  const query = parseSearchQuery(typed);
  if (query.kind !== 'words') throw new Error(`not a search: ${typed}`);
  return searchActivities(sampleActivities(), query, { near }).map((hit) => hit.activity.id);
}

describe('Activities directory', () => {
  it('the checked-in sample has at least 12 activities, every one labelled illustrative, covering every category', () => {
    const activities = sampleActivities();
    expect(activities.length).to.be.at.least(12);
    expect(activities.every((activity) => activity.illustrative)).to.equal(true);
    expect(activities.every((activity) => /^Sample .* \(illustrative\)$/.test(activity.organisation))).to.equal(true);
    expect(raw().note).to.match(/^ILLUSTRATIVE SAMPLE/);
    expect(new Set(activities.flatMap((activity) => activity.categories))).to.have.all.keys(...ACTIVITY_CATEGORIES);
    // Nothing that reads as a real contact: example.org addresses and no phone numbers.
    for (const activity of activities) {
      expect(activity.contact.phone).to.equal(null);
      for (const address of [activity.contact.email, ...activity.maintainers.map((maintainer) => maintainer.email)]) {
        if (address) expect(address).to.match(/@example\.org$/);
      }
    }
  });

  it('names every bad field of every activity, and duplicate ids, in one pass', () => {
    const file = raw();
    file.activities[0].categories = ['knitting'];
    file.activities[1].place.postcodeDistrict = 'SE15 4AB';
    file.activities[2].sessions[0].ends = '09:00';
    delete file.activities[3].howToJoin;
    file.activities[4].id = file.activities[5].id;
    file.activities[6].lastVerified = 'last week';
    file.activities[7].lastVerified = '2026-02-30';
    const problems = problemsOf(file);
    const [a0, a1, a2, a3, , a5, a6, a7] = file.activities.map((activity: { id: string }) => activity.id);
    expect(problems).to.include.members([
      `activity "${a5}": id: appears more than once`,
    ]);
    expect(problems.some((problem) => problem.startsWith(`activity "${a0}": categories.0:`))).to.equal(true);
    expect(problems).to.include(`activity "${a1}": place.postcodeDistrict: a postcode district such as SE15`);
    expect(problems).to.include(`activity "${a2}": sessions.0.ends: must be after the start time`);
    expect(problems.some((problem) => problem.startsWith(`activity "${a3}": howToJoin:`))).to.equal(true);
    expect(problems).to.include(`activity "${a6}": lastVerified: a date as YYYY-MM-DD`);
    expect(problems).to.include(`activity "${a7}": lastVerified: not a real date`);
  });

  it('refuses fields it does not know, so a typo is not silently dropped', () => {
    const file = raw();
    file.activities[0].costs = 'Free';
    expect(problemsOf(file).join('\n')).to.match(/peckham-walking-group": \(entry\): Unrecognized key\(s\) in object: 'costs'/);
  });
});

describe('Activity search', () => {
  it('finds an activity by a word of its name, and by the start of one', () => {
    expect(search('choir')[0]).to.equal('community-choir');
    expect(search('garden')[0]).to.equal('community-garden-nunhead');
    expect(search('befriend')[0]).to.equal('telephone-befriending');
  });

  it('finds activities by a word for their category that they never use themselves', () => {
    const hits = search('exercise');
    expect(hits).to.include.members(['peckham-walking-group', 'tai-chi-lewisham', 'chair-based-exercise']);
    expect(hits).to.not.include('money-advice-surgery');
    expect(search('lonely')).to.include.members(['lunch-club-bermondsey', 'telephone-befriending']);
  });

  it('ranks those matching more words first, then nearer ones: the person’s district, then the service’s boroughs', () => {
    // More words matched beats nearness: only the walking group is "gentle" and about exercise.
    expect(search('gentle exercise', { postcodeDistrict: 'SE13' })[0]).to.equal('peckham-walking-group');
    // A name match beats a category match: the chair-based class says "exercise" in its name.
    expect(search('exercise', { postcodeDistrict: 'SE13' })[0]).to.equal('chair-based-exercise');
    // Equal matches (all three are physical activity by category only): the nearest first.
    expect(search('physical', { postcodeDistrict: 'se13' })[0]).to.equal('tai-chi-lewisham');
    const inSouthwark = search('physical', { boroughs: ['southwark'] });
    expect(inSouthwark).to.have.length(3);
    expect(inSouthwark[2]).to.equal('tai-chi-lewisham');
  });

  it('finds activities by postcode district or borough', () => {
    expect(search('SE27')).to.deep.equal(['men-in-sheds']);
    expect(search('lambeth')).to.have.members(['community-choir', 'men-in-sheds']);
  });

  it('finds nothing for words no activity has', () => {
    expect(search('zzzz')).to.deep.equal([]);
  });

  it('offers the nearby activities before anything is typed, nearest first', () => {
    const offered = activitiesNear(sampleActivities(), { postcodeDistrict: 'SE15', boroughs: ['southwark'] }, 50);
    expect(offered.slice(0, 3).map((activity) => activity.place.postcodeDistrict)).to.deep.equal(['SE15', 'SE15', 'SE15']);
    expect(offered.every((activity) => activity.place.borough === 'southwark')).to.equal(true);
    expect(activitiesNear(sampleActivities(), { boroughs: ['croydon'] }, 50)).to.deep.equal([]);
    expect(activitiesNear(sampleActivities(), { boroughs: ['southwark'] }, 2)).to.have.length(2);
  });
});
