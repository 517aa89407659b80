import { expect } from 'chai';
import { testTables, uniqueTableName } from '../support/azurite';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import {
  MAX_STATE_CHARS,
  StateConflictError,
  StateTooLargeError,
  TableStateStore,
} from '../../storage/tableStateStore';

describe('TableStateStore (bot state on Azurite)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let store: TableStateStore;
  const key = 'msteams/conversations/a:1Xy/with?odd#chars\\and spaces/';

  before(async () => ({ azurite, tables } = await testTables()));
  after(async () => azurite?.stop());
  beforeEach(() => {
    store = new TableStateStore(tables, uniqueTableName('state'));
  });

  it('reads nothing for keys never written', async () => {
    expect(await store.read(['nope/1', 'nope/2'])).to.deep.equal({});
  });

  it('round-trips a value and returns an eTag, for keys with characters Table keys forbid', async () => {
    await store.write({ [key]: { count: 1, nested: { list: [1, 2, 3] } } });
    const items = await store.read([key]);
    expect(items[key]).to.include({ count: 1 });
    expect(items[key].nested).to.deep.equal({ list: [1, 2, 3] });
    expect(items[key].eTag).to.be.a('string').and.not.equal('*');
  });

  it('writes with the current eTag and rejects a stale one', async () => {
    await store.write({ [key]: { count: 1 } });
    const first = (await store.read([key]))[key];
    await store.write({ [key]: { ...first, count: 2 } });

    let error: unknown;
    try {
      await store.write({ [key]: { ...first, count: 3 } });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(StateConflictError);
    expect((await store.read([key]))[key].count).to.equal(2);
  });

  it('lets exactly one of two concurrent writers with the same eTag win', async () => {
    await store.write({ [key]: { owner: 'nobody' } });
    const read = (await store.read([key]))[key];
    const results = await Promise.allSettled([
      store.write({ [key]: { ...read, owner: 'alice' } }),
      store.write({ [key]: { ...read, owner: 'bob' } }),
    ]);
    const fulfilled = results.filter((result) => result.status === 'fulfilled');
    const rejected = results.filter((result) => result.status === 'rejected') as PromiseRejectedResult[];
    expect(fulfilled).to.have.length(1);
    expect(rejected).to.have.length(1);
    expect(rejected[0].reason).to.be.instanceOf(StateConflictError);
    const winner = results[0].status === 'fulfilled' ? 'alice' : 'bob';
    expect((await store.read([key]))[key].owner).to.equal(winner);
  });

  it('answers the eTag each write leaves, the one the next read returns', async () => {
    const first = await store.writeItems({ [key]: { count: 1 } });
    expect(first[key]).to.be.a('string').and.equal((await store.read([key]))[key].eTag);
    const second = await store.writeItems({ [key]: { ...(await store.read([key]))[key], count: 2 } });
    expect(second[key]).to.equal((await store.read([key]))[key].eTag);
    expect(second[key]).not.to.equal(first[key]);
  });

  it('refuses, when asked, to recreate an item deleted since it was read', async () => {
    await store.write({ [key]: { count: 1 } });
    const read = (await store.read([key]))[key];
    await store.delete([key]);
    let error: unknown;
    try {
      await store.writeItems({ [key]: { ...read, count: 2 } }, { recreateDeleted: false });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(StateConflictError);
    expect(await store.read([key])).to.deep.equal({});
  });

  it('overwrites regardless of changes when the eTag is "*" or absent', async () => {
    await store.write({ [key]: { count: 1 } });
    const stale = (await store.read([key]))[key];
    await store.write({ [key]: { count: 2 } });
    await store.write({ [key]: { ...stale, eTag: '*', count: 5 } });
    expect((await store.read([key]))[key].count).to.equal(5);
    await store.write({ [key]: { count: 6 } });
    expect((await store.read([key]))[key].count).to.equal(6);
  });

  it('recreates an item deleted since it was read, but not one recreated by someone else', async () => {
    await store.write({ [key]: { count: 1 } });
    const read = (await store.read([key]))[key];
    await store.delete([key]);
    await store.write({ [key]: { ...read, count: 2 } });
    expect((await store.read([key]))[key].count).to.equal(2);

    await store.delete([key]);
    await store.write({ [key]: { count: 10 } });
    let error: unknown;
    try {
      await store.write({ [key]: { ...read, count: 3 } });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(StateConflictError);
  });

  it('chunks values larger than one table property and reads them back intact', async () => {
    const text = 'é🙂'.repeat(15_000) + 'a'.repeat(40_000); // several chunks, multi-byte text across edges
    await store.write({ [key]: { text } });
    expect((await store.read([key]))[key].text).to.equal(text);
  });

  it('rejects values larger than an entity holds with a clear error and writes nothing', async () => {
    await store.write({ [key]: { keep: true } });
    let error: unknown;
    try {
      await store.write({ [key]: { text: 'x'.repeat(MAX_STATE_CHARS) } });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(StateTooLargeError);
    expect((error as Error).message).to.match(/at most \d+/);
    expect((error as Error).message).not.to.contain('a:1Xy');
    expect((await store.read([key]))[key].keep).to.equal(true);
  });

  it('deletes, and deleting a missing key is not an error', async () => {
    await store.write({ [key]: { count: 1 } });
    await store.delete([key, 'never/written']);
    expect(await store.read([key])).to.deep.equal({});
  });

  it('keeps data across an Azurite restart when persisted to a folder', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { startAzurite } = await import('../../storage/azurite');
    const { TableConnection } = await import('../../storage/tables');
    const folder = mkdtempSync(path.join(tmpdir(), 'signpost-azurite-'));
    try {
      const first = await startAzurite({ location: folder });
      await new TableStateStore(new TableConnection(first.connectionString)).write({ k: { survived: true } });
      await first.stop();
      const second = await startAzurite({ location: folder });
      const items = await new TableStateStore(new TableConnection(second.connectionString)).read(['k']);
      await second.stop();
      expect(items.k.survived).to.equal(true);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
