import { expect } from 'chai';
import sinon from 'sinon';
import { randomUUID } from 'node:crypto';
import { testTables, uniqueTableName } from '../support/azurite';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import { OutboxRepository } from '../../storage/outboxRepository';
import { referralStorage } from '../../storage/referralStorage';
import { NotificationDispatcher, DispatcherOptions } from '../../bot/notifications/notificationDispatcher';
import { clocksMessage } from '../../bot/supervision/supervision';
import { channelRefreshMessage } from '../../bot/channels/serviceChannels';
import { createLogger } from '../../bot/app/log';

/**
 * How the dispatcher orders and spreads its work: the referrer's news must not wait behind a
 * burst of other cases' work (issue 13 measured updates 2.6-8 s late), yet one referral's
 * messages must still go in the order they were queued.
 */
describe('Outbox dispatch order and concurrency (Azurite)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let outbox: OutboxRepository;
  let log: string[];
  let inFlight: number;
  let mostInFlight: number;

  before(async () => ({ azurite, tables } = await testTables()));
  after(async () => azurite?.stop());

  beforeEach(() => {
    const prefix = uniqueTableName('od');
    outbox = new OutboxRepository(tables, { tablePrefix: prefix });
    log = [];
    inFlight = 0;
    mostInFlight = 0;
  });

  /** A dispatcher whose deliveries take a little while and are logged in the order they start. */
  function dispatcher(options: Partial<DispatcherOptions> = {}): NotificationDispatcher {
    const slow = (what: string) => async (referralId: string) => {
      log.push(`${what} ${referralId}`);
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight -= 1;
    };
    return new NotificationDispatcher({
      outbox,
      referrals: referralStorage(tables, { tablePrefix: uniqueTableName('odr') }).referrals,
      logger: createLogger('error', () => undefined),
      startClocks: slow('clocks'),
      refreshReferral: slow('refresh'),
      postReferral: async () => true,
      countForReports: async () => undefined,
      ...options,
    } as unknown as DispatcherOptions);
  }

  const FAR_FUTURE = new Date('2030-01-01T00:00:00Z');
  const at = (second: number) => new Date(Date.UTC(2026, 10, 25, 9, 0, second)).toISOString();

  it('sends messages about different referrals side by side, and one referral\'s in the order queued', async () => {
    const ids = Array.from({ length: 6 }, () => randomUUID());
    for (const [index, id] of ids.entries()) {
      await outbox.record(id, [channelRefreshMessage({ id, version: 1, serviceId: 'sail' })], undefined, at(index));
      await outbox.record(id, [channelRefreshMessage({ id, version: 2, serviceId: 'sail' })], undefined, at(10 + index));
    }
    const settle = sinon.spy(outbox, 'settle');
    const counts = await dispatcher({ concurrency: 3 }).runOnce();
    expect(counts).to.deep.equal({ sent: 12, retried: 0, failed: 0 });
    expect(mostInFlight).to.equal(3);
    const settled = settle.getCalls().map((call) => call.args[0].key);
    for (const id of ids) {
      expect(settled.indexOf(`${id}:1:channel-refresh`)).to.be.within(0, settled.indexOf(`${id}:2:channel-refresh`) - 1);
    }
  });

  it('keeps one referral\'s messages in order even when many are due at once', async () => {
    const id = randomUUID();
    for (let version = 1; version <= 5; version += 1) {
      await outbox.record(id, [channelRefreshMessage({ id, version, serviceId: 'sail' })], undefined, at(version));
    }
    const settle = sinon.spy(outbox, 'settle');
    await dispatcher({
      concurrency: 8,
      refreshReferral: async () => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight -= 1;
      },
    }).runOnce();
    expect(mostInFlight).to.equal(1);
    expect(settle.getCalls().map((call) => call.args[0].key)).to.deep.equal([1, 2, 3, 4, 5].map((version) => `${id}:${version}:channel-refresh`));
  });

  it('sends what people wait for before Signpost\'s own work, even when that work was queued first', async () => {
    const busy = Array.from({ length: 4 }, () => randomUUID());
    for (const [index, id] of busy.entries()) await outbox.record(id, [clocksMessage({ id, version: 1 })], undefined, at(index));
    const news = randomUUID();
    await outbox.record(news, [channelRefreshMessage({ id: news, version: 2, serviceId: 'sail' })], undefined, at(30));
    await dispatcher({ concurrency: 1 }).runOnce();
    expect(log[0]).to.equal(`refresh ${news}`);
    expect(log.slice(1)).to.deep.equal(busy.map((id) => `clocks ${id}`));
  });

  it('takes a burst larger than one batch in the same pass, not at the next poll', async () => {
    const ids = Array.from({ length: 12 }, () => randomUUID());
    for (const [index, id] of ids.entries()) await outbox.record(id, [clocksMessage({ id, version: 1 })], undefined, at(index));
    expect(await dispatcher({ batchSize: 5 }).runOnce()).to.deep.equal({ sent: 12, retried: 0, failed: 0 });
    expect(await outbox.due(FAR_FUTURE)).to.deep.equal([]);
  });

  it('does not read a message waiting for its retry until it is due', async () => {
    const id = randomUUID();
    await outbox.record(id, [clocksMessage({ id, version: 1 })], undefined, at(0));
    const failing = dispatcher({ startClocks: async () => Promise.reject(new Error('storage busy')), baseDelayMs: 60_000 });
    expect(await failing.runOnce()).to.deep.equal({ sent: 0, retried: 1, failed: 0 });
    const reads = sinon.spy(outbox, 'get');
    expect(await outbox.due(new Date())).to.deep.equal([]);
    expect(reads.callCount).to.equal(0);
    // Once its time has come it is read and due again.
    const later = await outbox.due(new Date(Date.now() + 61_000));
    expect(later.map((entry) => entry.key)).to.deep.equal([`${id}:1:clocks`]);
  });
});
