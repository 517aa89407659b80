import { expect } from 'chai';
import { TableTransaction } from '@azure/data-tables';
import { startAzurite, RunningAzurite } from '../../storage/azurite';
import { isStorageUnavailable, statusOf, StorageUnavailableError, TableConnection } from '../../storage/tables';
import { uniqueTableName } from '../support/azurite';

/** Each storage call has a deadline: a real Azurite, frozen with SIGSTOP, then stopped. */
describe('Table storage deadlines (Azurite frozen, then stopped)', function () {
  this.timeout(60_000);
  const TIMEOUT_MS = 1_000;
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let tableName: string;
  let frozen = false;

  const thaw = () => {
    if (!frozen) return;
    process.kill(azurite.pid, 'SIGCONT');
    frozen = false;
  };

  /** Runs a storage call with Azurite frozen; resolves with what it failed with and when. */
  async function whileFrozen(call: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
    process.kill(azurite.pid, 'SIGSTOP');
    frozen = true;
    const started = performance.now();
    try {
      await call();
      return { error: undefined, ms: performance.now() - started };
    } catch (error) {
      return { error, ms: performance.now() - started };
    } finally {
      thaw();
    }
  }

  before(async () => {
    azurite = await startAzurite();
    tables = new TableConnection(azurite.connectionString, { timeoutMs: TIMEOUT_MS });
    tableName = uniqueTableName('deadline');
    await (await tables.table(tableName)).upsertEntity({ partitionKey: 'p', rowKey: 'r', note: 'kept' });
  });
  after(async () => {
    thaw();
    await azurite?.stop();
  });

  it('gives up on a read storage does not answer, with a StorageUnavailableError naming the table, not the keys', async () => {
    const client = await tables.table(tableName);
    const { error, ms } = await whileFrozen(() => client.getEntity('secret-partition', 'secret-row'));
    expect(error).to.be.instanceOf(StorageUnavailableError);
    expect(isStorageUnavailable(error)).to.equal(true);
    expect((error as Error).message).to.match(new RegExp(`did not answer within ${TIMEOUT_MS} ms \\(GET ${tableName}\\)`));
    expect((error as Error).message).not.to.contain('secret');
    expect(ms).to.be.within(TIMEOUT_MS - 50, TIMEOUT_MS + 1_000);
  });

  it('gives up on a transaction and on the health ping the same way', async () => {
    const client = await tables.table(tableName);
    const transaction = new TableTransaction();
    transaction.upsertEntity({ partitionKey: 'p', rowKey: 'r2', note: 'maybe' });
    const batch = await whileFrozen(() => client.submitTransaction(transaction.actions));
    expect(batch.error).to.be.instanceOf(StorageUnavailableError);
    expect(batch.ms).to.be.below(TIMEOUT_MS + 1_000);

    const ping = await whileFrozen(() => tables.ping());
    expect(ping.error).to.be.instanceOf(StorageUnavailableError);
    expect(ping.ms).to.be.below(TIMEOUT_MS + 1_000);
  });

  it('leaves a caller’s own cancellation as an abort, not as storage being down', async () => {
    const client = await tables.table(tableName);
    const { error, ms } = await whileFrozen(() => client.getEntity('p', 'r', { abortSignal: AbortSignal.timeout(100) }));
    expect((error as Error).name).to.equal('AbortError');
    expect(isStorageUnavailable(error)).to.equal(false);
    expect(ms).to.be.below(TIMEOUT_MS);
  });

  it('works again once storage answers, and still reports a missing entity as a 404', async () => {
    const client = await tables.table(tableName);
    expect((await client.getEntity<{ note: string }>('p', 'r')).note).to.equal('kept');
    const missing = await client.getEntity('p', 'absent').catch((error: unknown) => error);
    expect(statusOf(missing)).to.equal(404);
    expect(isStorageUnavailable(missing)).to.equal(false);
  });

  it('reports storage that refuses connections as unavailable after a few quick retries', async () => {
    await azurite.stop();
    const started = performance.now();
    const error = await tables.ping().catch((failure: unknown) => failure);
    const ms = performance.now() - started;
    expect(error).to.be.instanceOf(StorageUnavailableError);
    expect((error as Error).message).to.match(/could not be reached: ECONNREFUSED/);
    expect(ms).to.be.below(TIMEOUT_MS);
  });
});
