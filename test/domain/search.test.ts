import { expect } from 'chai';
import { southwarkDirectory } from '../../domain/directory/southwark';
import { MAX_QUERY_LENGTH, parseSearchQuery, searchDirectory, SearchQuery } from '../../domain/directory/search';
import type { DirectoryService } from '../../domain/directory/schema';

const now = new Date('2026-11-24T12:00:00Z');
const directory = southwarkDirectory();

function ids(typed: string, services: DirectoryService[] = directory): string[] {
  const query = parseSearchQuery(typed);
  if (query.kind !== 'words') throw new Error(`"${typed}" did not parse as words: ${query.kind}`);
  return searchDirectory(services, query, { now }).map((hit) => hit.service.id);
}

describe('Directory search (the compose box search)', () => {
  it('finds dementia services by the need, first the one whose rules are about it', () => {
    const found = ids('dementia');
    expect(found[0]).to.equal('alzheimers-society');
    expect(found).not.to.include('wellbeing-hub');
  });

  it('finds services for isolated people through their eligibility rules', () => {
    const found = ids('isolated');
    expect(found.slice(0, 2)).to.have.members(['sail', 'sail-care-navigation']);
    expect(found).not.to.include('alzheimers-society');
    // A word with the same meaning finds the same services.
    expect(ids('lonely').slice(0, 2)).to.have.members(['sail', 'sail-care-navigation']);
  });

  it('"over 60 discharge King\'s" puts Home from Hospital first, and an age the rule does not take excludes it', () => {
    expect(ids("over 60 discharge King's")[0]).to.equal('red-cross-home-from-hospital');
    expect(ids('aged 57 discharge')[0]).to.equal('red-cross-home-from-hospital'); // approaching 60 counts
    expect(ids('over 40 discharge')).not.to.include('red-cross-home-from-hospital');
    expect(ids('over 40 isolated')).not.to.include('sail');
  });

  it('finds a service by a word of its name, or the start of one', () => {
    expect(ids('wellbeing hub')[0]).to.equal('wellbeing-hub');
    expect(ids('pembro')[0]).to.equal('pembroke-house');
    expect(ids('CHAMPS')).to.deep.equal(['champs']);
  });

  it('ranks, among equal matches, services that take referrals first, then open before paused, then the shorter wait', () => {
    const sail = directory.find((service) => service.id === 'sail')!;
    const variant = (id: string, changes: Partial<DirectoryService>): DirectoryService => ({ ...sail, id, ...changes });
    const services = [
      variant('no-referrals', { takesReferrals: false, howPeopleReachIt: 'Drop in' }),
      variant('paused', { status: 'paused' }),
      variant('long-wait', { waitingTimeWeeks: { value: 10 } }),
      variant('short-wait', { waitingTimeWeeks: { value: 2 } }),
    ];
    expect(ids('isolated', services)).to.deep.equal(['short-wait', 'long-wait', 'paused', 'no-referrals']);
  });

  it('marks entries not checked within the verification window', () => {
    const query = parseSearchQuery('sail') as Extract<SearchQuery, { kind: 'words' }>;
    expect(searchDirectory(directory, query, { now }).every((hit) => hit.unverified)).to.equal(true);
    const fresh = directory.map((service) => ({ ...service, lastVerified: '2026-11-01' }));
    expect(searchDirectory(fresh, query, { now }).some((hit) => hit.unverified)).to.equal(false);
  });

  it('gives the best hits only, in the same order, when a page needs fewer', () => {
    const query = parseSearchQuery('southwark') as Extract<SearchQuery, { kind: 'words' }>;
    const all = searchDirectory(directory, query, { now }).map((hit) => hit.service.id);
    expect(searchDirectory(directory, query, { now, limit: 3 }).map((hit) => hit.service.id)).to.deep.equal(all.slice(0, 3));
  });

  it('finds nothing for words that match nothing', () => {
    expect(ids('zebra crossing')).to.deep.equal([]);
  });

  it('says what is wrong with a query instead of searching it', () => {
    expect(parseSearchQuery('')).to.deep.equal({ kind: 'empty' });
    expect(parseSearchQuery('   ')).to.deep.equal({ kind: 'empty' });
    expect(parseSearchQuery(undefined)).to.deep.equal({ kind: 'empty' });
    expect(parseSearchQuery({ text: 'dementia' })).to.deep.equal({ kind: 'empty' });
    expect(parseSearchQuery('dementia '.repeat(600).slice(0, 5000))).to.deep.equal({ kind: 'too-long' });
    expect(parseSearchQuery('x'.repeat(MAX_QUERY_LENGTH))).to.deep.include({ kind: 'words' });
    expect(parseSearchQuery('!!! ??? *** <> {{}}')).to.deep.equal({ kind: 'no-words' });
    expect(parseSearchQuery('the and of')).to.deep.equal({ kind: 'no-words' });
    expect(parseSearchQuery('over 60')).to.deep.equal({ kind: 'words', words: [], age: 60 });
    expect(parseSearchQuery('60+ Dementia')).to.deep.equal({ kind: 'words', words: ['dementia'], age: 60 });
    // Accents and curly apostrophes read as plain letters.
    expect(parseSearchQuery('Démentia King’s')).to.deep.equal({ kind: 'words', words: ['dementia', 'kings'] });
  });
});
