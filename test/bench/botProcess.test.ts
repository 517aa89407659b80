import { expect } from 'chai';
import { startBotProcess } from '../../bench/support/botProcess';
import { startAzurite } from '../../storage/azurite';
import { activityFrom, LoopbackConnector, post } from '../../bench/support/loopback';

/** The turn benchmark measures each bot in its own process; that process must answer and go away cleanly. */
describe('A benchmarked bot in its own process', () => {
  it('answers turns, reports its own CPU and memory to concurrent requests, refuses what it lacks, and exits on stop', async () => {
    const connector = await LoopbackConnector.start();
    const bare = await startBotProcess({ kind: 'bare' });
    try {
      expect(bare.pid).to.not.equal(process.pid);
      const before = await bare.request('usage', {});
      const turn = await post(bare.url, activityFrom(connector, { from: { id: '29:test', name: 'Test' }, text: 'hello' }));
      expect(turn.status).to.equal(200);
      const [after, settled] = await Promise.all([bare.request('usage', {}), bare.request('usage', { gc: true })]);
      expect(after.cpuMicros).to.be.greaterThan(before.cpuMicros);
      expect(settled.rss).to.be.greaterThan(0);
      expect(settled.heapUsed).to.be.greaterThan(0);
      const refused = await bare.request('caughtUp').then(() => undefined, (error: Error) => error);
      expect(refused?.message).to.match(/no caughtUp here/);
    } finally {
      await bare.stop();
      await connector.stop();
    }
    expect(() => process.kill(bare.pid, 0)).to.throw();
  });

  it("counts Signpost's storage requests, and marks how many there were when its last reply was written", async () => {
    const connector = await LoopbackConnector.start();
    const azurite = await startAzurite();
    const signpost = await startBotProcess({ kind: 'signpost', connectionString: azurite.connectionString, traceStorage: true });
    try {
      const before = await signpost.request('storageCount');
      const turn = await post(signpost.url, activityFrom(connector, { from: { id: '29:test', name: 'Test' }, text: 'refer' }));
      expect(turn.status).to.equal(200);
      const after = await signpost.request('storageCount');
      // `refer` reads and saves the conversation's state before its reply is out.
      expect(after.replied.requests).to.be.greaterThan(before.requests);
      expect(after.replied.requests).to.be.at.most(after.requests);
      const trace = await signpost.request('storageTrace', { from: before.traced });
      expect(trace.slice(0, after.replied.traced - before.traced).join('\n')).to.match(/botstate/);
      const usage = await signpost.request('usage', {});
      expect(usage.storageRequests).to.equal((await signpost.request('storageCount')).requests);
    } finally {
      await signpost.stop();
      await azurite.stop();
      await connector.stop();
    }
  });

  it('counts the form-floor bot\'s storage requests in its usage', async () => {
    const connector = await LoopbackConnector.start();
    const azurite = await startAzurite();
    const floor = await startBotProcess({ kind: 'formFloor', connectionString: azurite.connectionString });
    try {
      const before = await floor.request('usage', {});
      const click = { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'floorStep', data: {} } } };
      const turn = await post(floor.url, activityFrom(connector, { from: { id: '29:test', name: 'Test' }, ...click }));
      expect(turn.status).to.equal(200);
      // The form begun: its state read (none yet) and written.
      expect((await floor.request('usage', {})).storageRequests! - before.storageRequests!).to.equal(2);
    } finally {
      await floor.stop();
      await azurite.stop();
      await connector.stop();
    }
  });
});
