import { expect } from 'chai';
import { Actor, availableVerbs, CaseState, LifecycleAction, permittedVerbs, PROGRESS_STATUSES, referrerVerbs, sharedVerbs, transition } from '../../domain/referral/lifecycle';

const kwame: Actor = { id: '29:kwame', name: 'Kwame Mensah', isLinkWorker: true };
const grace: Actor = { id: '29:grace', name: 'Grace Okoro', isLinkWorker: true };
const outsider: Actor = { id: '29:outsider', name: 'Someone Else', isLinkWorker: false };
const fresh: CaseState = { status: 'submitted', serviceId: 'sail', redirectTargets: ['sail', 'sail-care-navigation'] };
const owned: CaseState = { ...fresh, status: 'accepted', owner: { id: kwame.id, name: kwame.name } };

function expectChange(state: CaseState, action: LifecycleAction, actor: Actor): CaseState {
  const result = transition(state, action, actor);
  expect(result.ok, result.ok ? '' : result.error).to.equal(true);
  if (!result.ok) throw new Error('unreachable');
  expect(result.changed).to.equal(true);
  return result.next;
}

function expectRefusal(state: CaseState, action: LifecycleAction, actor: Actor, message: RegExp): void {
  const result = transition(state, action, actor);
  expect(result.ok).to.equal(false);
  if (!result.ok) expect(result.error).to.match(message);
}

describe('Referral lifecycle (pure state machine)', () => {
  it('accept makes the clicker the owner', () => {
    expect(expectChange(fresh, { verb: 'accept' }, kwame)).to.deep.include({ status: 'accepted', owner: { id: kwame.id, name: kwame.name } });
  });

  it('a second accept by the owner changes nothing; by a colleague it is refused with who took it', () => {
    const again = transition(owned, { verb: 'accept' }, kwame);
    expect(again).to.deep.include({ ok: true, changed: false });
    expectRefusal(owned, { verb: 'accept' }, grace, /Already accepted by Kwame Mensah/);
  });

  it('assign hands the case to a named link worker and accepts a new referral', () => {
    expect(expectChange(fresh, { verb: 'assign', to: { id: grace.id, name: grace.name } }, kwame)).to.deep.include({ status: 'accepted', owner: { id: grace.id, name: grace.name } });
    expect(expectChange(owned, { verb: 'assign', to: { id: grace.id, name: grace.name } }, grace).owner?.id).to.equal(grace.id);
    expect(transition(owned, { verb: 'assign', to: { id: kwame.id, name: kwame.name } }, grace)).to.deep.include({ changed: false });
  });

  it('decline ends a new referral; an accepted one only by its owner', () => {
    expect(expectChange(fresh, { verb: 'decline', reason: 'no-capacity' }, grace).status).to.equal('declined');
    expectRefusal(owned, { verb: 'decline', reason: 'no-capacity' }, grace, /Only the owner/);
    expect(expectChange(owned, { verb: 'decline', reason: 'not-eligible' }, kwame).status).to.equal('declined');
  });

  it('redirect moves the referral to another matched service, new and unowned', () => {
    expect(expectChange(owned, { verb: 'redirect', toServiceId: 'sail-care-navigation' }, kwame)).to.deep.equal({
      status: 'submitted',
      serviceId: 'sail-care-navigation',
      owner: undefined,
      redirectTargets: fresh.redirectTargets,
    });
    expectRefusal(fresh, { verb: 'redirect', toServiceId: 'sail' }, kwame, /already with this service/);
    expectRefusal(fresh, { verb: 'redirect', toServiceId: 'champs' }, kwame, /matched to/);
    expectRefusal(owned, { verb: 'redirect', toServiceId: 'sail-care-navigation' }, grace, /Only the owner/);
  });

  for (const status of PROGRESS_STATUSES) {
    it(`the owner records "${status}", from accepted and from any other progress`, () => {
      expect(expectChange(owned, { verb: 'update', status }, kwame).status).to.equal(status);
      const other = PROGRESS_STATUSES.find((s) => s !== status)!;
      expect(expectChange({ ...owned, status: other }, { verb: 'update', status }, kwame).status).to.equal(status);
      expect(transition({ ...owned, status }, { verb: 'update', status }, kwame)).to.deep.include({ changed: false });
    });
  }

  it('progress needs an accepted referral and its owner', () => {
    expectRefusal(fresh, { verb: 'update', status: 'contacted' }, kwame, /Accept the referral/);
    expectRefusal(owned, { verb: 'update', status: 'contacted' }, grace, /Only the owner \(Kwame Mensah\)/);
  });

  it('close is for the owner of an accepted referral, and ends it', () => {
    expect(expectChange({ ...owned, status: 'connected-to-activity' }, { verb: 'close', reason: 'completed' }, kwame).status).to.equal('closed');
    expectRefusal(fresh, { verb: 'close', reason: 'completed' }, kwame, /decline it instead/);
    expectRefusal(owned, { verb: 'close', reason: 'completed' }, grace, /Only the owner/);
  });

  it('nothing changes a declined or closed referral @safety', () => {
    for (const status of ['declined', 'closed'] as const) {
      for (const action of [{ verb: 'accept' }, { verb: 'update', status: 'contacted' }, { verb: 'close', reason: 'completed' }] as LifecycleAction[]) {
        expectRefusal({ ...owned, status }, action, kwame, /nothing more can change/);
      }
      expect(availableVerbs({ ...owned, status })).to.deep.equal([]);
    }
  });

  it('refuses everyone who is not a link worker of the service', () => {
    for (const action of [{ verb: 'accept' }, { verb: 'decline', reason: 'other' }, { verb: 'update', status: 'contacted' }] as LifecycleAction[]) {
      expectRefusal(owned, action, outsider, /Only the service's link workers/);
    }
  });

  it('offers the actions that fit the status', () => {
    expect(availableVerbs(fresh)).to.deep.equal(['accept', 'assign', 'decline', 'redirect']);
    expect(availableVerbs(owned)).to.include.members(['update', 'close']);
  });
});

describe('The referrer in the permission table', () => {
  const referrer: Actor = { id: '29:amira', name: 'Amira Patel', isLinkWorker: false, isReferrer: true };

  it('lets the referrer ask a question, and nothing else, while the referral is open', () => {
    for (const status of ['submitted', 'accepted', ...PROGRESS_STATUSES] as const) {
      expect(permittedVerbs({ ...owned, status }, referrer), status).to.deep.equal(['ask-question']);
      expect(referrerVerbs({ ...owned, status }), status).to.deep.equal(['ask-question']);
    }
    for (const status of ['closed', 'declined', 'redirected'] as const) expect(referrerVerbs({ ...owned, status }), status).to.deep.equal([]);
  });

  it("never offers the question to link workers, outsiders or the channel's shared card", () => {
    for (const actor of [kwame, grace, outsider]) expect(permittedVerbs(owned, actor)).not.to.include('ask-question');
    expect(sharedVerbs(owned)).not.to.include('ask-question');
  });
});
