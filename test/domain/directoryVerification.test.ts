import { expect } from 'chai';
import sinon from 'sinon';
import { evaluateVerificationTimer, verificationTimer } from '../../domain/directory/verification';
import { southwarkDirectory } from '../../domain/directory/southwark';
import type { DirectoryService } from '../../domain/directory/schema';
import { WorkingCalendar } from '../../domain/supervision/workingCalendar';

/**
 * The verification policy for a service nobody maintains (pure, under a fixed sinon clock):
 * when its request falls due the admins are told, once per timer, and told again every 5
 * working days until a maintainer is added, who is then asked instead.
 */

// Wednesday 4 November 2026 is a holiday in this calendar; working hours 09:00-17:00, London.
const calendar = new WorkingCalendar(undefined, (date) => date === '2026-11-04');
const HELEN = 'helen.price@ageuk-ls.example';

describe('Directory verification policy (pure)', () => {
  let clock: sinon.SinonFakeTimers;
  let sail: DirectoryService;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: new Date('2026-11-02T10:00:00Z'), toFake: ['Date'] });
    const found = southwarkDirectory().find((service) => service.id === 'sail')!;
    sail = { ...found, lastVerified: '2026-09-01', maintainers: undefined };
  });
  afterEach(() => clock.restore());

  const evaluate = (service: DirectoryService, due = verificationTimer(service, calendar, new Date())) =>
    evaluateVerificationTimer(due, service, 3, { now: new Date(), calendar });

  it('tells the admins when an entry nobody maintains falls due, and again every 5 working days @safety', () => {
    const first = evaluate(sail);
    expect(first.notices).to.have.length(1);
    expect(first.notices[0].audience).to.deep.equal({ to: 'admins' });
    const message = first.notices[0].message;
    expect(message.kind).to.equal('unmaintained-entry');
    expect(message.verification).to.equal(undefined);
    expect(message.title).to.equal('Safe and Independent Living (SAIL) signposting programme has no maintainers');
    expect(message.lines[0]).to.equal('Safe and Independent Living (SAIL) signposting programme has no maintainers; its entry was last checked on 1 September 2026.');
    expect(message.lines.at(-1)).to.equal('Add one with `@Signpost maintainers add <email>` in its channel.');
    expect(first.summary).to.equal("Signpost's admins told that Safe and Independent Living (SAIL) signposting programme has no maintainers");

    // The next look is 5 working days on, skipping the Wednesday holiday: Tuesday 10 November, 10:00.
    expect(first.next.map((timer) => [timer.attempt, timer.dueAt])).to.deep.equal([[1, '2026-11-10T10:00:00.000Z']]);
    clock.setSystemTime(new Date(first.next[0].dueAt));
    const second = evaluate(sail, first.next[0]);
    expect(second.notices.map((notice) => notice.audience)).to.deep.equal([{ to: 'admins' }]);
    expect(second.next.map((timer) => timer.dueAt)).to.deep.equal(['2026-11-17T10:00:00.000Z']);
    // Each notice has its own key, so the outbox sends the second one too, and each only once.
    expect(second.key).to.be.a('string').and.not.equal(first.key);
    expect(evaluate(sail, first.next[0]).key).to.equal(second.key);
  });

  it('asks a maintainer added meanwhile instead of telling the admins', () => {
    const [later] = evaluate(sail).next;
    clock.setSystemTime(new Date(later.dueAt));
    const asked = evaluate({ ...sail, maintainers: [HELEN] }, later);
    expect(asked.notices.map((notice) => [notice.audience.to, notice.message.kind])).to.deep.equal([['person', 'verification-request']]);
    expect(asked.key).to.equal(undefined);
  });

  it('says nothing about an entry checked since the timer was set, nor about one removed', () => {
    const due = verificationTimer(sail, calendar, new Date());
    const checked = evaluate({ ...sail, lastVerified: '2026-11-02' }, due);
    expect(checked.notices).to.deep.equal([]);
    expect(checked.next.map((timer) => timer.anchor)).to.deep.equal(['2026-11-02']);
    expect(evaluateVerificationTimer(due, undefined, 0, { now: new Date(), calendar })).to.deep.equal({ notices: [], next: [] });
  });
});
