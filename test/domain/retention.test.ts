import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { parseReferral, Referral } from '../../domain/referral/referral';
import { scoreSwemwbs } from '../../domain/referral/outcomes';
import {
  addMonths,
  concludedAt,
  deidentify,
  DEFAULT_RETENTION_MONTHS,
  mentionsPerson,
  REMOVED_TEXT,
  retentionDecision,
  retentionEndsAt,
  retentionTimers,
  scrubAuditDetail,
} from '../../domain/referral/retention';
import { sampleReferral } from '../support/fixtures';

const CLOSED_AT = '2026-12-01T10:00:00.000Z';

/** A referral that went the whole way: escalated with advice, scored, goals, closed with a note. */
function closedReferral(overrides: Partial<Referral> = {}): Referral {
  return sampleReferral({
    status: 'closed',
    version: 7,
    whatMatters: 'Jane wants to get back to her allotment on Grove Lane',
    person: { ...sampleReferral().person, email: 'jane.example@mail.example', carerInvolved: true, carerDetails: 'Her son Tom Example, 07700 900123' },
    owner: { id: '29:kwame', name: 'Kwame Mensah' },
    escalations: [
      {
        id: randomUUID(),
        reason: 'safeguarding',
        note: 'Jane Example says her son takes her pension',
        raisedBy: { id: '29:kwame', name: 'Kwame Mensah' },
        raisedAt: '2026-11-25T10:00:00.000Z',
        resolution: { kind: 'advice-given', by: { id: '29:helen', name: 'Helen Price' }, at: '2026-11-25T11:00:00.000Z', note: 'Call Jane on 020 7946 0000 with the safeguarding team' },
      },
    ],
    wellbeing: { baseline: scoreSwemwbs([2, 2, 3, 2, 2, 3, 2], '2026-11-25T10:00:00.000Z'), closing: scoreSwemwbs([4, 4, 4, 3, 4, 4, 4], CLOSED_AT) },
    goals: [{ text: 'Visit Jane at 12 Grove Lane weekly', achieved: true }],
    outcome: { kind: 'closed', reason: 'completed', note: 'Jane Example now goes to the lunch club', at: CLOSED_AT },
    updatedAt: CLOSED_AT,
    ...overrides,
  });
}

describe('Retention rules', () => {
  it('adds calendar months, ending on the last day of a shorter month', () => {
    expect(addMonths(new Date('2026-01-31T09:00:00Z'), 1).toISOString()).to.equal('2026-02-28T09:00:00.000Z');
    expect(addMonths(new Date('2028-01-31T09:00:00Z'), 1).toISOString()).to.equal('2028-02-29T09:00:00.000Z');
    expect(addMonths(new Date('2026-12-01T10:00:00Z'), 96).toISOString()).to.equal('2034-12-01T10:00:00.000Z');
  });

  it('starts the clock only when a referral is closed or declined, from its outcome', () => {
    expect(DEFAULT_RETENTION_MONTHS).to.equal(96);
    for (const status of ['submitted', 'accepted', 'contacted', 'connected-to-activity'] as const) {
      expect(concludedAt(sampleReferral({ status })), status).to.equal(undefined);
      expect(retentionTimers(sampleReferral({ status }), 96), status).to.deep.equal([]);
    }
    const closed = closedReferral({ updatedAt: '2027-01-01T00:00:00.000Z' });
    expect(retentionEndsAt(closed, 96)?.toISOString()).to.equal('2034-12-01T10:00:00.000Z');
    const [timer] = retentionTimers(closed, 96);
    expect(timer).to.deep.include({ kind: 'retention', referralId: closed.id, serviceId: 'sail', anchor: CLOSED_AT, dueAt: '2034-12-01T10:00:00.000Z' });
    const declined = sampleReferral({ status: 'declined', outcome: { kind: 'declined', reason: 'no-capacity', at: CLOSED_AT } });
    expect(retentionTimers(declined, 12)[0].dueAt).to.equal('2027-12-01T10:00:00.000Z');
  });

  it('decides on the referral as it is and the period as configured when the timer comes due', () => {
    const closed = closedReferral();
    const due = new Date('2034-12-01T10:00:00.000Z');
    expect(retentionDecision(undefined, 96, due)).to.deep.equal({ do: 'nothing', why: 'gone' });
    expect(retentionDecision(sampleReferral({ status: 'accepted' }), 96, due)).to.deep.equal({ do: 'nothing', why: 'open' });
    expect(retentionDecision(closed, 96, due)).to.deep.equal({ do: 'remove' });
    // Lengthened to 10 years since the timer was set: wait, with a timer at the new end.
    const waiting = retentionDecision(closed, 120, due);
    expect(waiting.do).to.equal('wait');
    expect(waiting.do === 'wait' && waiting.next[0].dueAt).to.equal('2036-12-01T10:00:00.000Z');
    expect(retentionDecision(deidentify(closed, due.toISOString(), { kind: 'retention', months: 96 }).referral, 96, due)).to.deep.equal({ do: 'nothing', why: 'already-removed' });
  });

  it('de-identifies a record: no identifier or free text left, the facts reports need kept, still a valid record @safety', () => {
    const closed = closedReferral();
    const { referral, removed } = deidentify(closed, '2034-12-01T10:00:00.000Z', { kind: 'retention', months: 96 });
    const json = JSON.stringify(referral);
    for (const identifier of ['Jane', 'Example', '1950-03-14', '9434765919', 'SE5 8AU', '020 7946 0000', 'jane.example@mail.example', 'Grove Lane', 'pension', '07700', 'mornings']) {
      expect(json, identifier).not.to.contain(identifier);
    }
    expect(referral.person).to.equal(undefined);
    expect(referral.deidentified).to.deep.equal({
      at: '2034-12-01T10:00:00.000Z',
      rule: 'retention-96-months',
      kept: { borough: 'southwark', postcodeDistrict: 'SE5', preferredContactMethod: 'phone', language: 'English', interpreterNeeded: false, carerInvolved: true },
    });
    // Kept: reference, service, status, dates, facts, scores, goal achieved, who acted.
    expect(referral).to.deep.include({ reference: closed.reference, serviceId: 'sail', status: 'closed', createdAt: closed.createdAt, updatedAt: closed.updatedAt, facts: closed.facts, wellbeing: closed.wellbeing, owner: closed.owner, referrer: closed.referrer });
    expect(referral.outcome).to.deep.equal({ kind: 'closed', reason: 'completed', at: CLOSED_AT });
    expect(referral.goals).to.deep.equal([{ text: REMOVED_TEXT, achieved: true }]);
    expect(referral.escalations![0]).to.deep.include({ reason: 'safeguarding', note: REMOVED_TEXT, raisedAt: '2026-11-25T10:00:00.000Z' });
    expect(referral.escalations![0].resolution).to.deep.equal({ kind: 'advice-given', by: { id: '29:helen', name: 'Helen Price' }, at: '2026-11-25T11:00:00.000Z' });
    expect(removed).to.have.length(5);
    expect(parseReferral(referral)).to.deep.include({ ok: true });
    // Twice is once.
    expect(deidentify(referral, '2035-01-01T00:00:00.000Z', { kind: 'erasure' })).to.deep.equal({ referral, removed: [] });
  });

  it('refuses a stored record with neither the person nor the mark that they were removed, or with both', () => {
    const { person: _person, ...withoutPerson } = sampleReferral();
    expect(parseReferral(withoutPerson)).to.deep.equal({ ok: false, errors: [{ field: 'person', message: 'Required' }] });
    const removed = deidentify(closedReferral(), CLOSED_AT, { kind: 'erasure' }).referral;
    expect(parseReferral({ ...removed, person: sampleReferral().person })).to.deep.include({ ok: false });
  });

  it('empties free text in audit details and recognises the person in an operator\'s words', () => {
    expect(scrubAuditDetail({ summary: 'Connected', activity: 'Lunch club with Jane' })).to.deep.equal({ summary: 'Connected', activity: REMOVED_TEXT });
    expect(scrubAuditDetail({ summary: 'Accepted by Kwame Mensah' })).to.equal(undefined);
    const person = closedReferral().person!;
    for (const words of ['request from jane example', 'NHS 943 476 5919', 'lives at se58au', 'rang from 02079460000', 'born 1950-03-14']) {
      expect(mentionsPerson(words, person), words).to.equal(true);
    }
    expect(mentionsPerson('Subject access request received by the practice on 3 March', person)).to.equal(false);
  });
});
