import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { caseloadDigests } from '../../domain/supervision/messages';
import {
  clocksMayChange,
  DEFAULT_SUPERVISION,
  digestTimer,
  escalationTimer,
  evaluateReferralTimer,
  referralTimers,
  supervisionSettings,
  Timer,
} from '../../domain/supervision/policy';
import { Escalation, firstResponders, raiseEscalation, respondToEscalation } from '../../domain/supervision/escalation';
import { WorkingCalendar } from '../../domain/supervision/workingCalendar';
import { bankHolidays } from '../../bot/supervision/bankHolidays';
import { southwarkDirectory } from '../../domain/directory/southwark';
import type { Referral } from '../../domain/referral/referral';
import { sampleReferral } from '../support/fixtures';

const calendar = new WorkingCalendar(undefined, bankHolidays('GB-ENG'));
const SUBMITTED_AT = '2026-11-23T10:00:00.000Z'; // Monday
const KWAME = { id: '29:kwame', name: 'Kwame Mensah', email: 'kwame.mensah@ageuk-ls.example' };
const HELEN = { id: '29:helen', name: 'Helen Price' };
const context = (now: string) => ({ now: new Date(now), settings: DEFAULT_SUPERVISION, calendar, serviceName: 'SAIL' });
const byKind = (timers: Timer[], kind: Timer['kind']) => timers.find((timer) => timer.kind === kind)!;

function submitted(overrides: Partial<Referral> = {}): Referral {
  return sampleReferral({ createdAt: SUBMITTED_AT, updatedAt: SUBMITTED_AT, routedAt: SUBMITTED_AT, ...overrides });
}
function accepted(overrides: Partial<Referral> = {}): Referral {
  return submitted({ status: 'accepted', owner: KWAME, acceptedAt: '2026-11-24T09:30:00.000Z', version: 2, ...overrides });
}
function escalation(overrides: Partial<Escalation> = {}): Escalation {
  return { id: randomUUID(), reason: 'safeguarding', note: 'Neighbour concerned about bruising', raisedBy: KWAME, raisedAt: '2026-11-24T10:00:00.000Z', ...overrides };
}

describe('Supervision policy', () => {
  describe('which clocks a referral needs', () => {
    it('a new referral: a channel reminder at 2 working days and a supervisor escalation at 5 @safety', () => {
      const timers = referralTimers(submitted(), DEFAULT_SUPERVISION, calendar);
      expect(timers.map((timer) => timer.kind)).to.deep.equal(['not-accepted-reminder', 'not-accepted-escalation']);
      expect(byKind(timers, 'not-accepted-reminder').dueAt).to.equal('2026-11-25T10:00:00.000Z');
      expect(byKind(timers, 'not-accepted-escalation').dueAt).to.equal('2026-11-30T10:00:00.000Z');
    });

    it('an accepted referral: first contact in 5 working days and a review after the engagement length', () => {
      const timers = referralTimers(accepted(), DEFAULT_SUPERVISION, calendar);
      expect(byKind(timers, 'first-contact').dueAt).to.equal('2026-12-01T09:30:00.000Z');
      // 12 weeks from Tuesday 24 November is Tuesday 16 February, within hours.
      expect(byKind(timers, 'engagement-review').dueAt).to.equal('2027-02-16T09:30:00.000Z');
    });

    it('takes each clock from the service when it sets one, and the engagement length from the directory', () => {
      const sail = southwarkDirectory().find((service) => service.id === 'sail')!;
      const settings = supervisionSettings({ ...sail, supervision: { acceptReminderWorkingDays: 1 }, engagementWeeks: { value: 6 } });
      expect(settings).to.include({ acceptReminderWorkingDays: 1, acceptEscalationWorkingDays: 5, engagementWeeks: 6 });
      expect(supervisionSettings({ ...sail, engagementWeeks: { value: null, note: 'data not available' } }).engagementWeeks).to.equal(12);
      expect(byKind(referralTimers(submitted(), settings, calendar), 'not-accepted-reminder').dueAt).to.equal('2026-11-24T10:00:00.000Z');
    });

    it('needs no first-contact clock once contact is recorded, and none at all once closed', () => {
      expect(referralTimers(accepted({ status: 'contacted' }), DEFAULT_SUPERVISION, calendar).map((timer) => timer.kind)).to.deep.equal(['engagement-review']);
      expect(referralTimers(accepted({ status: 'closed' }), DEFAULT_SUPERVISION, calendar)).to.deep.equal([]);
    });

    it('is asked again only when a change can start a clock (status, service, routed or accepted), not for outcome scores', () => {
      const before = accepted();
      expect(clocksMayChange(before, { ...before, version: 3, goals: [{ text: 'Join a walking group', achieved: false }] })).to.equal(false);
      expect(clocksMayChange(before, { ...before, status: 'contacted' })).to.equal(true);
      expect(clocksMayChange(submitted(), { ...submitted(), routedAt: '2026-11-25T10:00:00.000Z' })).to.equal(true);
      expect(clocksMayChange(before, { ...before, acceptedAt: '2026-11-26T10:00:00.000Z' })).to.equal(true);
    });

    it('gives the same clock the same id, so scheduling twice stores one', () => {
      const referral = submitted();
      expect(referralTimers(referral, DEFAULT_SUPERVISION, calendar)).to.deep.equal(referralTimers({ ...referral, version: 3 }, DEFAULT_SUPERVISION, calendar));
    });
  });

  describe('what a due clock says', () => {
    const reminder = byKind(referralTimers(submitted(), DEFAULT_SUPERVISION, calendar), 'not-accepted-reminder');
    const escalationDue = byKind(referralTimers(submitted(), DEFAULT_SUPERVISION, calendar), 'not-accepted-escalation');

    it('reminds the channel about a referral still not accepted, without naming the person', () => {
      const decision = evaluateReferralTimer(reminder, submitted(), context('2026-11-25T10:00:00Z'));
      expect(decision.notices).to.have.length(1);
      expect(decision.notices[0].audience).to.deep.equal({ to: 'channel' });
      const text = JSON.stringify(decision.notices[0].message);
      expect(text).to.contain('SP-2026-000001').and.contain('2 working days');
      expect(text).not.to.contain('Jane').and.not.to.contain('Example').and.not.to.contain('9434765919');
      expect(decision.audit?.action).to.equal('reminder.sent');
    });

    it('escalates to every supervisor after 5 working days', () => {
      const decision = evaluateReferralTimer(escalationDue, submitted(), context('2026-11-30T10:00:00Z'));
      expect(decision.notices.map((notice) => notice.audience)).to.deep.equal([{ to: 'supervisors' }]);
      expect(decision.notices[0].message.title).to.contain('Not accepted after 5 working days');
    });

    it('says nothing once the referral was accepted, redirected elsewhere, or sent back to this service later', () => {
      expect(evaluateReferralTimer(reminder, accepted(), context('2026-11-25T10:00:00Z')).notices).to.deep.equal([]);
      expect(evaluateReferralTimer(reminder, submitted({ serviceId: 'sail-care-navigation' }), context('2026-11-25T10:00:00Z')).notices).to.deep.equal([]);
      expect(evaluateReferralTimer(reminder, submitted({ routedAt: '2026-11-24T15:00:00.000Z' }), context('2026-11-25T10:00:00Z')).notices).to.deep.equal([]);
      expect(evaluateReferralTimer(reminder, undefined, context('2026-11-25T10:00:00Z')).notices).to.deep.equal([]);
    });

    it('reminds the owner about first contact, and only while nothing is recorded', () => {
      const firstContact = byKind(referralTimers(accepted(), DEFAULT_SUPERVISION, calendar), 'first-contact');
      const decision = evaluateReferralTimer(firstContact, accepted(), context('2026-12-01T09:30:00Z'));
      expect(decision.notices.map((notice) => notice.audience)).to.deep.equal([{ to: 'person', person: KWAME }]);
      expect(evaluateReferralTimer(firstContact, accepted({ status: 'contacted' }), context('2026-12-01T09:30:00Z')).notices).to.deep.equal([]);
      // Reassigned and accepted afresh: the old clock is not the case's clock any more.
      expect(evaluateReferralTimer(firstContact, accepted({ acceptedAt: '2026-11-30T09:30:00.000Z' }), context('2026-12-01T09:30:00Z')).notices).to.deep.equal([]);
    });

    it('asks the owner and the supervisors to review a case open longer than its engagement', () => {
      const review = byKind(referralTimers(accepted(), DEFAULT_SUPERVISION, calendar), 'engagement-review');
      const decision = evaluateReferralTimer(review, accepted({ status: 'waiting-for-activity' }), context(review.dueAt));
      expect(decision.notices.map((notice) => notice.audience.to)).to.deep.equal(['person', 'supervisors']);
      expect(decision.notices[0].message.lines.join(' ')).to.contain('12 weeks').and.contain('Waiting for an activity');
      expect(evaluateReferralTimer(review, accepted({ status: 'closed' }), context(review.dueAt)).notices).to.deep.equal([]);
    });
  });

  describe('escalation re-alerts', () => {
    const raised = escalation();
    const withEscalation = accepted({ escalations: [raised] });
    const level1 = escalationTimer(withEscalation, raised, 1, new Date(raised.raisedAt), DEFAULT_SUPERVISION, calendar);

    it('come due 4 working hours after the escalation, then 4 more', () => {
      expect(level1.dueAt).to.equal('2026-11-24T14:00:00.000Z');
      const decision = evaluateReferralTimer(level1, withEscalation, context(level1.dueAt));
      expect(decision.notices.map((notice) => notice.audience)).to.deep.equal([{ to: 'supervisors' }]);
      expect(decision.notices[0].message.escalation).to.deep.equal({ referralId: withEscalation.id, escalationId: raised.id });
      expect(decision.notices[0].message.privateNote).to.equal(raised.note);
      expect(decision.next).to.have.length(1);
      expect(decision.next[0]).to.include({ level: 2, dueAt: '2026-11-25T10:00:00.000Z' });
      const admins = evaluateReferralTimer(decision.next[0], withEscalation, context(decision.next[0].dueAt));
      expect(admins.notices.map((notice) => notice.audience)).to.deep.equal([{ to: 'admins' }]);
      expect(admins.next).to.deep.equal([]);
    });

    it('stop once a supervisor acknowledges', () => {
      const acknowledged = accepted({ escalations: [{ ...raised, acknowledged: { by: HELEN, at: '2026-11-24T11:00:00.000Z' } }] });
      expect(evaluateReferralTimer(level1, acknowledged, context(level1.dueAt))).to.deep.equal({ notices: [], next: [] });
    });
  });

  describe('escalations', () => {
    it('go first to the supervisor whose role fits the reason, or to everyone when nobody has it @safety', () => {
      const supervisors = [
        { email: 'helen@example.org', role: 'host-organisation' as const },
        { email: 'sam@example.org', role: 'clinical' as const },
      ];
      expect(firstResponders('clinical-advice', supervisors).map((s) => s.email)).to.deep.equal(['sam@example.org']);
      expect(firstResponders('safeguarding', supervisors).map((s) => s.email)).to.deep.equal(['helen@example.org']);
      expect(firstResponders('risk', supervisors.slice(0, 1)).map((s) => s.email)).to.deep.equal(['helen@example.org']);
    });

    it('are raised by link workers of the service on open cases only', () => {
      const input = { id: randomUUID(), reason: 'risk' as const, note: 'Said they feel unsafe at home', at: '2026-11-24T10:00:00.000Z' };
      expect(raiseEscalation(input, { ...KWAME, isLinkWorker: false }, true)).to.deep.include({ ok: false });
      expect(raiseEscalation(input, { ...KWAME, isLinkWorker: true }, false)).to.deep.include({ ok: false });
      const raisedOk = raiseEscalation(input, { ...KWAME, isLinkWorker: true }, true);
      expect(raisedOk.ok && raisedOk.escalation).to.deep.include({ reason: 'risk', raisedBy: { id: KWAME.id, name: KWAME.name } });
    });

    it('are answered by supervisors only; the first acknowledgement is kept; advice needs words @safety', () => {
      const open = escalation();
      const at = '2026-11-24T11:00:00.000Z';
      expect(respondToEscalation(open, { verb: 'acknowledge' }, { ...KWAME, mayAnswer: false }, at)).to.deep.include({ ok: false });
      const acknowledged = respondToEscalation(open, { verb: 'acknowledge' }, { ...HELEN, mayAnswer: true }, at);
      expect(acknowledged).to.deep.include({ ok: true, changed: true });
      const again = respondToEscalation((acknowledged as { escalation: Escalation }).escalation, { verb: 'acknowledge' }, { id: '29:sam', name: 'Sam', mayAnswer: true }, at);
      expect(again).to.deep.include({ ok: true, changed: false, summary: 'Already acknowledged by Helen Price.' });
      expect(respondToEscalation(open, { verb: 'advice', note: '   ' }, { ...HELEN, mayAnswer: true }, at)).to.deep.include({ ok: false });
      const advice = respondToEscalation(open, { verb: 'advice', note: 'Refer to the safeguarding hub today' }, { ...HELEN, mayAnswer: true }, at);
      expect(advice.ok && advice.changed && advice.escalation.resolution).to.deep.include({ kind: 'advice-given', note: 'Refer to the safeguarding hub today' });
      expect(advice.ok && advice.escalation.acknowledged?.by).to.deep.equal(HELEN);
    });

    it('taken over: the supervisor becomes the owner, and later answers change nothing @safety', () => {
      const takeOver = respondToEscalation(escalation(), { verb: 'take-over' }, { ...HELEN, mayAnswer: true }, '2026-11-24T11:00:00.000Z');
      expect(takeOver.ok && takeOver.changed && takeOver.takeOver).to.deep.equal(HELEN);
      const late = respondToEscalation((takeOver as { escalation: Escalation }).escalation, { verb: 'advice', note: 'x' }, { id: '29:sam', name: 'Sam', mayAnswer: true }, '2026-11-24T12:00:00.000Z');
      expect(late).to.deep.include({ ok: true, changed: false, summary: 'Already taken over by Helen Price.' });
    });
  });

  describe('caseload digests', () => {
    it('fall on a fixed fortnightly cadence at opening time, the same for every instance', () => {
      const first = digestTimer('sail', DEFAULT_SUPERVISION, calendar, new Date('2026-11-24T12:00:00Z'));
      expect(first).to.deep.include({ id: 'caseload-digest:sail:2026-11-30', dueAt: '2026-11-30T09:00:00.000Z' });
      expect(digestTimer('sail', DEFAULT_SUPERVISION, calendar, new Date('2026-11-27T16:00:00Z')).id).to.equal(first.id);
      const after = digestTimer('sail', DEFAULT_SUPERVISION, calendar, new Date(first.dueAt));
      expect(after.dueAt).to.equal('2026-12-14T09:00:00.000Z');
      // 28 December 2026 is a bank holiday: that digest comes on the next working day.
      expect(digestTimer('sail', DEFAULT_SUPERVISION, calendar, new Date(after.dueAt)).dueAt).to.equal('2026-12-29T09:00:00.000Z');
    });

    it('give each link worker their cases by status and what is overdue, and supervisors the whole service', () => {
      const now = new Date('2026-12-07T09:00:00Z');
      const grace = { id: '29:grace', name: 'Grace Okoro' };
      const referrals = [
        submitted({ reference: 'SP-2026-000010' }), // waiting two weeks to be accepted
        accepted({ reference: 'SP-2026-000011' }), // no first contact for 9 working days
        accepted({ reference: 'SP-2026-000012', status: 'contacted', escalations: [escalation()] }),
        accepted({ reference: 'SP-2026-000013', owner: grace, status: 'support-plan-agreed', acceptedAt: '2026-08-03T10:00:00.000Z' }),
        accepted({ reference: 'SP-2026-000014', status: 'closed' }),
      ];
      const digests = caseloadDigests('SAIL', referrals, { now, settings: DEFAULT_SUPERVISION, calendar });
      const kwame = digests.owners.find((entry) => entry.owner.id === KWAME.id)!.message;
      expect(kwame.title).to.equal('Your caseload at SAIL: 2 open cases');
      expect(kwame.lines[0]).to.equal('By status: Accepted 1, Contacted 1.');
      expect(kwame.sections![0].lines.join('\n')).to.contain('SP-2026-000011 (Accepted): no first contact recorded').and.contain('SP-2026-000012 (Contacted): escalation waiting');
      const graceDigest = digests.owners.find((entry) => entry.owner.id === grace.id)!.message;
      expect(graceDigest.sections![0].lines[0]).to.contain('open longer than 12 weeks');
      const service = JSON.stringify(digests.supervisors);
      expect(digests.supervisors.title).to.equal('SAIL caseload: 4 open cases');
      expect(service).to.contain('Waiting to be accepted: 1').and.contain('Escalations waiting for a supervisor: 1').and.contain('SP-2026-000010 (New): not accepted since 23 Nov');
      expect(service).to.contain('Kwame Mensah: 2 open cases, 2 needing attention').and.contain('Grace Okoro: 1 open case, 1 needing attention');
      expect(service).not.to.contain('SP-2026-000014').and.not.to.contain('Jane');
    });
  });
});
