import { expect } from 'chai';
import sinon from 'sinon';
import { randomUUID } from 'node:crypto';
import { testTables, uniqueTableName } from '../support/azurite';
import type { RunningAzurite } from '../../storage/azurite';
import { TableConnection } from '../../storage/tables';
import type { Referral } from '../../domain/referral/referral';
import { channelPostMessage } from '../../bot/channels/serviceChannels';
import { OutboxRepository } from '../../storage/outboxRepository';
import { referralStorage } from '../../storage/referralStorage';
import { NotificationDispatcher, DispatcherOptions } from '../../bot/notifications/notificationDispatcher';
import { clocksMessage } from '../../bot/supervision/supervision';
import { channelRefreshMessage } from '../../bot/channels/serviceChannels';
import { reportCountMessage, ReportCountPayload } from '../../bot/reports/reportTotals';
import { createLogger } from '../../bot/app/log';
import { DeliveryError } from '../../bot/notifications/messenger';

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
      postReferral: async (_referralId: string, current: unknown) => ({ posted: true, now: current }),
      countForReports: async () => undefined,
      ...options,
    } as unknown as DispatcherOptions);
  }

  /** The keys of the messages a dispatcher delivers, in the order it starts delivering them. */
  function deliveries(sending: NotificationDispatcher): string[] {
    const keys: string[] = [];
    const deliver = sinon.stub(sending as unknown as { deliver(entry: { key: string }, referral: unknown): Promise<void> }, 'deliver');
    deliver.callsFake(async (entry, referral) => {
      keys.push(entry.key);
      return deliver.wrappedMethod.call(sending, entry, referral);
    });
    return keys;
  }

  const FAR_FUTURE = new Date('2030-01-01T00:00:00Z');
  const at = (second: number) => new Date(Date.UTC(2026, 10, 25, 9, 0, second)).toISOString();

  it('gives each of a referral\'s messages a lease of its own, so a slow send does not cost the next ones an attempt', async () => {
    const id = randomUUID();
    for (const version of [1, 2, 3]) await outbox.record(id, [channelRefreshMessage({ id, version, serviceId: 'sail' })], undefined, at(version));
    // Each send takes longer than one lease (60 s by default), as a hanging mail server might.
    let clock = Date.parse(at(30));
    const counts = await dispatcher({ now: () => new Date(clock), refreshReferral: async () => void (clock += 61_000) }).runOnce();
    expect(counts).to.deep.equal({ sent: 3, retried: 0, failed: 0 });
  });

  it('sends messages about different referrals side by side, and one referral\'s in the order queued', async () => {
    const ids = Array.from({ length: 6 }, () => randomUUID());
    for (const [index, id] of ids.entries()) {
      await outbox.record(id, [channelRefreshMessage({ id, version: 1, serviceId: 'sail' })], undefined, at(index));
      await outbox.record(id, [channelRefreshMessage({ id, version: 2, serviceId: 'sail' })], undefined, at(10 + index));
    }
    const sending = dispatcher({ concurrency: 3 });
    const delivered = deliveries(sending);
    const counts = await sending.runOnce();
    expect(counts).to.deep.equal({ sent: 12, retried: 0, failed: 0 });
    expect(mostInFlight).to.equal(3);
    for (const id of ids) {
      expect(delivered.indexOf(`${id}:1:channel-refresh`)).to.be.within(0, delivered.indexOf(`${id}:2:channel-refresh`) - 1);
    }
  });

  it('keeps one referral\'s messages in order even when many are due at once', async () => {
    const id = randomUUID();
    for (let version = 1; version <= 5; version += 1) {
      await outbox.record(id, [channelRefreshMessage({ id, version, serviceId: 'sail' })], undefined, at(version));
    }
    const sending = dispatcher({
      concurrency: 8,
      refreshReferral: async () => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight -= 1;
      },
    });
    const delivered = deliveries(sending);
    await sending.runOnce();
    expect(mostInFlight).to.equal(1);
    expect(delivered).to.deep.equal([1, 2, 3, 4, 5].map((version) => `${id}:${version}:channel-refresh`));
    expect(await outbox.counts()).to.deep.equal({ pending: 0, failed: 0 });
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

  it("keeps a referrer's updates in order when one must be tried again: those after it wait, uncharged, and follow it @safety", async () => {
    const id = randomUUID();
    const update = (version: number) => ({ key: `${id}:${version}:teams`, channel: 'teams' as const, payload: { kind: 'update', version }, lane: 'referrer:teams' });
    const other = randomUUID();
    await outbox.record(id, [update(2)], undefined, at(1));
    await outbox.record(id, [update(3)], undefined, at(2));
    await outbox.record(other, [{ ...update(2), key: `${other}:2:teams` }], undefined, at(3));
    const start = Date.parse(at(10));
    let clock = start;
    let failuresLeft = 1;
    const sending = dispatcher({ now: () => new Date(clock), baseDelayMs: 60_000 });
    const delivered: string[] = [];
    sinon.stub(sending as unknown as { deliver(entry: { key: string }): Promise<void> }, 'deliver').callsFake(async (entry) => {
      if (entry.key === `${id}:2:teams` && failuresLeft-- > 0) throw new DeliveryError('transient', 'Teams is busy');
      delivered.push(entry.key);
    });

    // The accepted update fails; the closed update after it is not sent, nor charged an attempt.
    expect(await sending.runOnce()).to.deep.equal({ sent: 1, retried: 1, failed: 0 });
    expect(delivered).to.deep.equal([`${other}:2:teams`]);
    const held = (await outbox.get(id, `${id}:3:teams`))!;
    expect(held).to.deep.include({ state: 'pending', attempts: 0 });

    // A later update queued meanwhile waits in the lane too, though it is due.
    await outbox.record(id, [update(4)], undefined, new Date(start + 1_000).toISOString());
    clock = start + 2_000;
    expect(await outbox.due(new Date(clock))).to.deep.equal([]);
    expect(await sending.runOnce()).to.deep.equal({ sent: 0, retried: 0, failed: 0 });

    // Once the first may be tried again, all three go, in the order of the changes.
    clock = start + 61_000;
    expect(await sending.runOnce()).to.deep.equal({ sent: 3, retried: 0, failed: 0 });
    expect(delivered.slice(1)).to.deep.equal([2, 3, 4].map((version) => `${id}:${version}:teams`));
    expect((await outbox.get(id, `${id}:3:teams`))!.attempts).to.equal(1);
    expect(await outbox.counts()).to.deep.equal({ pending: 0, failed: 0 });
  });

  it("still sends a referrer's update that is due when one after it in its lane is not", async () => {
    const id = randomUUID();
    const update = (version: number) => ({ key: `${id}:${version}:teams`, channel: 'teams' as const, payload: { kind: 'update', version }, lane: 'referrer:teams' });
    await outbox.record(id, [update(2)], undefined, at(1));
    await outbox.record(id, [update(3)], undefined, at(2));
    const later = (await outbox.due(FAR_FUTURE)).find((entry) => entry.key === `${id}:3:teams`)!;
    await outbox.release((await outbox.claim(later, new Date(Date.now() + 60_000)))!, FAR_FUTURE);
    expect((await outbox.due(new Date())).filter((entry) => entry.referralId === id).map((entry) => entry.key)).to.deep.equal([`${id}:2:teams`]);
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

  describe('one referral\'s messages, as a change queues them (its update, clocks, report count)', () => {
    const change = (id: string, version: number) => [
      channelRefreshMessage({ id, version, serviceId: 'sail' }),
      clocksMessage({ id, version }),
      reportCountMessage({ id, version }, { referralId: id, at: at(version), actor: { id: 'lw' }, action: 'referral.accept', detail: {} }),
    ];

    it('reads them in one request and claims them in one, and the claims settle', async () => {
      const prefix = uniqueTableName('odc');
      let requests: string[] = [];
      // The same tables, through a connection that notes every request it makes.
      const observed = new TableConnection(azurite.connectionString, { observe: (request) => requests.push(request.method) });
      const counted = new OutboxRepository(observed, { tablePrefix: prefix });
      const plain = new OutboxRepository(tables, { tablePrefix: prefix });
      const id = randomUUID();
      const alone = randomUUID();
      await plain.record(id, change(id, 2), undefined, at(1));
      await plain.record(alone, [clocksMessage({ id: alone, version: 1 })], undefined, at(2));
      await counted.due(FAR_FUTURE); // tables are made on first use: not counted
      requests = [];

      const due = await counted.due(FAR_FUTURE);
      // The index, the referral's three rows in one query, the lone message's row.
      expect(requests).to.deep.equal(['GET', 'GET', 'GET']);
      const mine = due.filter((entry) => entry.referralId === id);
      expect(mine.map((entry) => entry.key).sort()).to.deep.equal(change(id, 2).map((message) => message.key).sort());
      expect(mine.find((entry) => entry.channel === 'signpost' && entry.payload.kind === 'report-count')?.payload).to.deep.include({ kind: 'report-count', version: 2 });

      requests = [];
      const claimed = await counted.claimAll(mine, new Date(Date.now() + 60_000));
      expect(requests).to.deep.equal(['POST']); // one transaction
      expect(claimed.map((entry) => [entry.key, entry.state, entry.attempts])).to.deep.equal(mine.map((entry) => [entry.key, 'sending', 1]));
      // Each claim carries its row's new eTag: settling with it succeeds, and only then.
      for (const entry of claimed) await plain.settle(entry, { state: 'sent' });
      expect(await plain.due(FAR_FUTURE)).to.have.length(1);
      expect(await plain.counts()).to.deep.equal({ pending: 1, failed: 0 });
    });

    it("asks storage for one index read, one read of the rows, one claim, one settle for Signpost's own work and one unlisting", async () => {
      const prefix = uniqueTableName('odc');
      const requests: string[] = [];
      const observed = new TableConnection(azurite.connectionString, { observe: (request) => requests.push(`${request.method} ${new URL(request.url).pathname.split(/[/(]/)[2]}`) });
      outbox = new OutboxRepository(observed, { tablePrefix: prefix });
      const id = randomUUID();
      await outbox.record(id, change(id, 2), undefined, at(1));
      requests.length = 0;
      expect(await dispatcher().runOnce()).to.deep.equal({ sent: 3, retried: 0, failed: 0 });
      expect(requests.slice(0, 3)).to.deep.equal([`GET ${prefix}outboxindex`, `GET ${prefix}referrals`, 'POST $batch']);
      // A card redraw, clocks and a count: each harmless to repeat, so marked sent together.
      expect(requests.slice(3)).to.deep.equal(['POST $batch', 'POST $batch']);
      expect(await outbox.counts()).to.deep.equal({ pending: 0, failed: 0 });
      expect(await outbox.due(FAR_FUTURE)).to.deep.equal([]);

      // What a person receives is marked sent the moment it is (a crash must not send it twice).
      await outbox.record(id, [{ key: `${id}:3:referrer:teams`, channel: 'teams', payload: { kind: 'referral-update' } }, ...change(id, 3)], undefined, at(3));
      requests.length = 0;
      const withUpdate = dispatcher();
      // Delivered without a request of its own (what is measured here is the outbox's bookkeeping).
      sinon.stub(withUpdate as unknown as { deliver(entry: { key: string }): Promise<void> }, 'deliver').callsFake(async (entry) => void requests.push(`deliver ${entry.key.split(':').slice(2).join(':')}`));
      expect(await withUpdate.runOnce()).to.deep.equal({ sent: 4, retried: 0, failed: 0 });
      expect(requests).to.deep.equal([
        `GET ${prefix}outboxindex`,
        `GET ${prefix}referrals`,
        'POST $batch',
        'deliver channel-refresh',
        'deliver referrer:teams',
        `PATCH ${prefix}referrals`,
        'deliver clocks',
        'deliver report:referral.accept:' + at(3),
        'POST $batch',
        'POST $batch',
      ]);
      expect(await outbox.counts()).to.deep.equal({ pending: 0, failed: 0 });
      expect(await outbox.due(FAR_FUTURE)).to.deep.equal([]);
    });

    it('unlists sent messages even when another sender already unlisted one of them', async () => {
      const id = randomUUID();
      await outbox.record(id, change(id, 1), undefined, at(1));
      const claimed = await outbox.claimAll(await outbox.due(FAR_FUTURE), new Date(Date.now() + 60_000));
      const sent: typeof claimed = [];
      for (const entry of claimed) {
        await outbox.settle(entry, { state: 'sent' }, undefined, { unlistLater: true });
        sent.push(entry);
      }
      expect(await outbox.counts()).to.deep.equal({ pending: 3, failed: 0 });
      // Another sender read the first, found it sent and mended the index.
      await outbox.settle({ ...sent[0], etag: '*' }, { state: 'sent' });
      expect(await outbox.counts()).to.deep.equal({ pending: 2, failed: 0 });
      await outbox.unlist(sent);
      expect(await outbox.counts()).to.deep.equal({ pending: 0, failed: 0 });
    });

    it('claims the rest when another sender took one of them meanwhile, and never the one it took', async () => {
      const id = randomUUID();
      await outbox.record(id, change(id, 1), undefined, at(1));
      const due = await outbox.due(FAR_FUTURE);
      const taken = await outbox.claim(due[1], new Date(Date.now() + 60_000));
      expect(taken).to.not.equal(undefined);
      const claimed = await outbox.claimAll(due, new Date(Date.now() + 60_000));
      expect(claimed.map((entry) => entry.key)).to.deep.equal([due[0].key, due[2].key]);
      // Nothing is claimed twice: the one taken keeps its claim.
      expect(await outbox.claimAll([due[1]], new Date(Date.now() + 60_000))).to.deep.equal([]);
    });

    it("claims none of a referrer's later updates while another sender has the one before them, though it claims the rest @safety", async () => {
      const id = randomUUID();
      const update = (version: number) => ({ key: `${id}:${version}:teams`, channel: 'teams' as const, payload: { kind: 'update', version }, lane: 'referrer:teams' });
      await outbox.record(id, [update(2), ...change(id, 2)], undefined, at(1));
      await outbox.record(id, [update(3)], undefined, at(2));
      const due = await outbox.due(FAR_FUTURE);
      expect(due.map((entry) => entry.key)).to.include.members([`${id}:2:teams`, `${id}:3:teams`]);
      // Another sender took the first update after this one read what was due.
      expect(await outbox.claim(due.find((entry) => entry.key === `${id}:2:teams`)!, new Date(Date.now() + 60_000))).to.not.equal(undefined);

      const claimed = await outbox.claimAll(due, new Date(Date.now() + 60_000));
      expect(claimed.map((entry) => entry.key)).to.deep.equal(due.map((entry) => entry.key).filter((key) => !key.endsWith(':teams')));
      expect((await outbox.get(id, `${id}:3:teams`))!).to.deep.include({ state: 'pending', attempts: 0 });
      // Nor is it due while the one before it is being sent.
      expect((await outbox.due(new Date())).map((entry) => entry.key)).to.not.include(`${id}:3:teams`);
    });

    it('marks the rest sent together when another sender took one of them meanwhile, and leaves that one to it', async () => {
      const id = randomUUID();
      await outbox.record(id, change(id, 1), undefined, at(1));
      const claimed = await outbox.claimAll(await outbox.due(FAR_FUTURE), new Date(Date.now() - 1));
      // The lease ran out and another sender claimed the second.
      const taken = await outbox.claim(claimed[1], new Date(Date.now() + 60_000));
      expect(taken).to.not.equal(undefined);
      const settled = await outbox.settleAllSent(claimed);
      expect(settled.map((entry) => entry.key)).to.deep.equal([claimed[0].key, claimed[2].key]);
      expect((await outbox.get(id, claimed[1].key))?.state).to.equal('sending');
      expect((await outbox.get(id, claimed[2].key))?.state).to.equal('sent');
      // Nor is the one taken given back unsent by the sender that lost it.
      await outbox.release(claimed[1], new Date(Date.now() + 60_000));
      expect((await outbox.get(id, claimed[1].key))?.state).to.equal('sending');
    });

    it('still mends the index when one of them was sent but its index row was not removed (a crash between the two)', async () => {
      const id = randomUUID();
      const messages = change(id, 1);
      await outbox.record(id, messages, undefined, at(1));
      const [first] = await outbox.due(FAR_FUTURE);
      await outbox.settle((await outbox.claim(first, new Date(Date.now() + 60_000)))!, { state: 'sent' });
      // Listed again, as if the process stopped before removing its index row.
      await outbox.index(id, [messages.find((message) => message.key === first.key)!], at(1));
      expect(await outbox.counts()).to.deep.equal({ pending: 3, failed: 0 });
      const due = (await outbox.due(FAR_FUTURE)).map((entry) => entry.key);
      expect(due).to.have.length(2);
      expect(due).to.not.include(first.key);
      expect(await outbox.counts()).to.deep.equal({ pending: 2, failed: 0 });
    });

    it('reads the referral once for them all, and again after a message that changes it', async () => {
      const referrals = referralStorage(tables, { tablePrefix: uniqueTableName('odr') }).referrals;
      const id = randomUUID();
      let version = 3;
      const get = sinon.stub(referrals, 'get').callsFake(async () => ({ referral: { id, version } as Referral, etag: 'e' }));
      const seen: string[] = [];
      const options = {
        referrals,
        refreshReferral: async (_referralId: string, current: { referral: Referral } | undefined) => void seen.push(`card redrawn with version ${current?.referral.version}`),
        startClocks: async (_referralId: string, current: Referral | undefined) => void seen.push(`clocks with version ${current?.version}`),
        countForReports: async (_referralId: string, payload: ReportCountPayload, current: Referral | undefined) => void seen.push(`count ${payload.version} with version ${current?.version}`),
      };
      await outbox.record(id, change(id, 3), undefined, at(1));
      expect(await dispatcher(options).runOnce()).to.deep.equal({ sent: 3, retried: 0, failed: 0 });
      expect(seen).to.deep.equal(['card redrawn with version 3', 'clocks with version 3', 'count 3 with version 3']);
      expect(get.callCount).to.equal(1);

      // An intake email reads the referral; posting it to its channel records where the card went,
      // and hands back the referral as that left it, which the clocks after it use.
      seen.length = 0;
      get.resetHistory();
      await outbox.enqueue(id, { key: `${id}:3:intake:team@sail.example`, channel: 'email', payload: { kind: 'intake', serviceId: 'sail', address: 'team@sail.example' } }, at(10));
      await outbox.record(id, [channelPostMessage({ id, version: 3, serviceId: 'sail' })], undefined, at(11));
      await outbox.record(id, [clocksMessage({ id, version: 4 })], undefined, at(12));
      let recorded: boolean = true;
      const postingDispatcher = () =>
        dispatcher({
          ...options,
          mailer: { send: async () => undefined },
          emailActions: { referralEmail: async (_address: string, referral: Referral) => (seen.push(`intake email of version ${referral.version}`), { subject: 'New referral', text: '' }) },
          postReferral: async (_referralId: string, current: { referral: Referral } | undefined) => {
            seen.push(`posted version ${current?.referral.version}`);
            version = 4;
            // Recorded: the referral as the post left it. Not recorded (changed by someone else meanwhile): unknown.
            return { posted: true, now: recorded ? { referral: { id, version: 5 } as Referral, etag: 'f' } : undefined };
          },
        } as unknown as Partial<DispatcherOptions>);
      expect(await postingDispatcher().runOnce()).to.deep.equal({ sent: 3, retried: 0, failed: 0 });
      // The post is handed the referral already read, and what follows it uses the referral the post left.
      expect(seen).to.deep.equal(['intake email of version 3', 'posted version 3', 'clocks with version 5']);
      expect(get.callCount).to.equal(1);

      // When the post could not say how the referral stands, what follows reads it again.
      seen.length = 0;
      get.resetHistory();
      version = 3;
      recorded = false;
      await outbox.record(id, [channelPostMessage({ id, version: 6, serviceId: 'sail' })], undefined, at(20));
      await outbox.record(id, [clocksMessage({ id, version: 7 })], undefined, at(21));
      expect(await postingDispatcher().runOnce()).to.deep.equal({ sent: 2, retried: 0, failed: 0 });
      expect(seen).to.deep.equal(['posted version 3', 'clocks with version 4']);
      expect(get.callCount).to.equal(2);
    });
  });
});
