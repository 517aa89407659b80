import { expect } from 'chai';
import sinon from 'sinon';
import { startAzurite, type RunningAzurite } from '../../storage/azurite';
import { TableConnection } from '../../storage/tables';
import { uniqueTableName } from '../support/azurite';
import { StateConflictError, TableStateStore } from '../../storage/tableStateStore';
import { CachedStateStore, holdsNothing } from '../../storage/cachedStateStore';

describe('CachedStateStore (bot state on Azurite, with a copy in memory)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let requests = 0;
  let tableName: string;
  let inner: TableStateStore;
  let store: CachedStateStore;
  const key = 'msteams/conversations/a:1/users/29:amira';
  const form = { dialogState: { dialogStack: [{ id: 'referral', state: { draft: { person: { familyName: 'Example' } } } }] } };

  before(async () => {
    azurite = await startAzurite();
    tables = new TableConnection(azurite.connectionString, { observe: () => (requests += 1) });
  });
  after(async () => azurite?.stop());
  afterEach(() => sinon.restore());
  beforeEach(() => {
    tableName = uniqueTableName('state');
    inner = new TableStateStore(tables, tableName);
    store = new CachedStateStore(inner);
  });

  /** What the promise was rejected with (undefined if it was not). */
  const refusal = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error);

  it('reads storage on every ordinary read, and remembers what it read and wrote with the eTag storage has', async () => {
    await store.write({ [key]: form });
    const stored = (await inner.read([key]))[key];
    expect(store.cachedCopy(key)?.eTag).to.equal(stored.eTag);

    requests = 0;
    await store.read([key]);
    await store.read([key]);
    expect(requests).to.equal(2);

    // Changed by another instance: the next ordinary read brings the memory up to date.
    await new TableStateStore(tables, tableName).write({ [key]: { ...form, other: true } });
    expect(store.cachedCopy(key)?.eTag).to.equal(stored.eTag);
    const read = (await store.read([key]))[key];
    expect(store.cachedCopy(key)?.eTag).to.equal(read.eTag);
  });

  it('gives a fresh copy each time, filled into the state object, which nothing the turn does can change in memory', async () => {
    await store.write({ [key]: form });
    const copy = store.cachedCopy(key)!;
    const state: Record<string, any> = {};
    copy.fill(state);
    expect(state).to.deep.equal(form);
    expect(copy.unchanged(state)).to.equal(true);
    state.dialogState.dialogStack[0].state.draft.person.familyName = 'Changed';
    expect(copy.unchanged(state)).to.equal(false);
    const again: Record<string, any> = {};
    store.cachedCopy(key)!.fill(again);
    expect(again.dialogState.dialogStack[0].state.draft.person.familyName).to.equal('Example');
    expect(JSON.stringify(state)).not.to.contain('eTag'); // the mark is not part of the state
  });

  it('writes a filled state with the copy eTag, whatever eTag it carries, and refuses it once storage has moved on', async () => {
    await store.write({ [key]: form });
    const state: Record<string, unknown> = {};
    store.cachedCopy(key)!.fill(state);
    await new TableStateStore(tables, tableName).write({ [key]: { moved: 'on' } });

    const error = await refusal(store.write({ [key]: Object.assign(state, { eTag: '*', step: 2 }) }));
    expect(error).to.be.instanceOf(StateConflictError);
    expect((await inner.read([key]))[key].moved).to.equal('on');
    expect(store.cachedCopy(key)).to.equal(undefined);
  });

  it('accepts a filled state written twice in a turn: the second write is checked against the first', async () => {
    await store.write({ [key]: form });
    const state: Record<string, unknown> = {};
    store.cachedCopy(key)!.fill(state);
    await store.write({ [key]: Object.assign(state, { eTag: '*', step: 1 }) });
    await store.write({ [key]: Object.assign(state, { eTag: '*', step: 2 }) });
    expect((await inner.read([key]))[key].step).to.equal(2);
  });

  it('never recreates an item deleted since the copy was taken (erasure), though a write of a state read from storage does as before', async () => {
    await store.write({ [key]: form });
    const state: Record<string, unknown> = {};
    store.cachedCopy(key)!.fill(state);
    await new TableStateStore(tables, tableName).delete([key]);

    const error = await refusal(store.write({ [key]: Object.assign(state, { eTag: '*' }) }));
    expect(error).to.be.instanceOf(StateConflictError);
    expect(await inner.read([key])).to.deep.equal({});

    await store.write({ [key]: form });
    const read = (await store.read([key]))[key];
    await inner.delete([key]);
    await store.write({ [key]: { ...read, step: 3 } });
    expect((await inner.read([key]))[key].step).to.equal(3);
  });

  it('confirms a copy only while storage still holds its version', async () => {
    await store.write({ [key]: form });
    const copy = store.cachedCopy(key)!;
    expect(await store.confirm(copy)).to.equal(true);
    await new TableStateStore(tables, tableName).write({ [key]: { moved: 'on' } });
    expect(await store.confirm(copy)).to.equal(false);
  });

  it('keeps nothing of a state that holds nothing (a form that ended), of a deleted item, or of a failed write', async () => {
    await store.write({ [key]: form });
    await store.write({ [key]: { dialogState: { dialogStack: [] } } });
    expect(store.cachedCopy(key)).to.equal(undefined);
    await store.read([key]);
    expect(store.cachedCopy(key)).to.equal(undefined);

    await store.write({ [key]: form });
    await store.delete([key]);
    expect(store.cachedCopy(key)).to.equal(undefined);

    await store.write({ [key]: form });
    const error = await refusal(store.write({ [key]: { text: 'x'.repeat(600_000) } }));
    expect(error).to.have.property('code', 'StateTooLarge');
    expect(store.cachedCopy(key)).to.equal(undefined);
  });

  it('does not bring back a deleted item from a read that was under way when it was deleted', async () => {
    await store.write({ [key]: form });
    let releaseRead: () => void = () => undefined;
    const realRead = inner.read.bind(inner);
    sinon.stub(inner, 'read').callsFake(async (keys) => {
      const items = await realRead(keys);
      await new Promise<void>((resolve) => (releaseRead = resolve));
      return items;
    });
    const reading = store.read([key]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.delete([key]);
    releaseRead();
    expect((await reading)[key]).to.deep.include(form);
    expect(store.cachedCopy(key)).to.equal(undefined);
  });

  it('drops items after their time to live and the oldest beyond its size', async () => {
    let now = 0;
    const small = new CachedStateStore(inner, { timeToLiveMs: 1_000, maxEntries: 2, clock: () => now });
    await small.write({ a: { n: 1 } });
    now = 500;
    await small.write({ b: { n: 2 } });
    await small.write({ c: { n: 3 } });
    expect([small.cachedCopy('a'), small.cachedCopy('b'), small.cachedCopy('c')].map(Boolean)).to.deep.equal([false, true, true]);
    now = 1_499;
    expect(small.cachedCopy('b')).not.to.equal(undefined);
    now = 1_500;
    expect(small.cachedCopy('b')).to.equal(undefined);
    expect(small.size).to.equal(0);
  });

  it('lets go of what people typed once its time to live runs out, though nothing is asked of it meanwhile', async () => {
    const idle = new CachedStateStore(inner, { timeToLiveMs: 30 });
    await idle.write({ [key]: form });
    await idle.delete(['another']);
    // Looked at without asking the store anything (its `size` would drop what expired itself).
    const held = () => (idle as unknown as { remembered: Map<string, unknown> }).remembered.size;
    expect(held()).to.equal(2);
    for (let waited = 0; held() > 0 && waited < 100; waited += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(held()).to.equal(0);
  });

  it('counts only values with something in them as worth keeping', () => {
    expect(holdsNothing({ dialogState: { dialogStack: [] } })).to.equal(true);
    expect(holdsNothing({})).to.equal(true);
    expect(holdsNothing({ dialogState: { dialogStack: [{ id: 'referral' }] } })).to.equal(false);
    expect(holdsNothing({ count: 0 })).to.equal(false);
  });
});
