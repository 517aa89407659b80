import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeConnector } from '../support/connector';
import { BotProcess, processesUsing, Referrer } from '../support/botProcess';

/**
 * What Signpost promises after a crash on its embedded store, checked with real processes:
 * a referral whose reference a referrer was given is still there after kill -9, and no
 * reference is ever given to two referrals.
 */
describe('Crash safety on the embedded default (real processes, kill -9)', function () {
  this.timeout(300_000);
  let dataDir: string;
  let connector: FakeConnector;
  let bot: BotProcess | undefined;

  beforeEach(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'signpost-crash-'));
    connector = await FakeConnector.start();
  });
  afterEach(async () => {
    await bot?.stop().catch(() => undefined);
    // Whatever a failed test left running on its folder must not outlive it.
    for (const line of processesUsing(dataDir)) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
    await connector?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const settings = { SIGNPOST_ADMINS: '29:admin' };
  const url = () => bot!.url;

  /**
   * 20 referrers send at once; after the sixth is given its reference, `crash` runs while the
   * others are mid-way through their forms or pressing Send. Returns the references given.
   */
  async function referWhileCrashing(crash: () => Promise<void>): Promise<string[]> {
    bot = await BotProcess.start(dataDir, settings);
    const referrers = Array.from({ length: 20 }, (_, index) => new Referrer(url, connector, `29:referrer-${index}`, `Referrer ${index}`));
    const acknowledged: string[] = [];
    let crashed: Promise<void> | undefined;
    await Promise.allSettled(
      referrers.map(async (referrer) => {
        acknowledged.push(await referrer.refer());
        if (acknowledged.length === 6) crashed = crash();
      }),
    );
    await crashed;
    return acknowledged;
  }

  it('kill -9 of the bot while 20 referrers send: every acknowledged referral survives a restart, and no reference is issued twice @safety', async () => {
    const acknowledged = await referWhileCrashing(() => bot!.kill());
    expect(acknowledged.length, 'referrals acknowledged before the crash').to.be.at.least(6);
    expect(new Set(acknowledged).size).to.equal(acknowledged.length);

    bot = await BotProcess.start(dataDir, settings);
    const admin = new Referrer(url, connector, '29:admin', 'Admin');
    for (const reference of acknowledged) {
      expect(await admin.ask(`status ${reference}`), reference).to.contain(`${reference}: New with`);
    }
    // New referrals after the restart get references nobody was given before.
    const newcomers = [0, 1, 2].map((index) => new Referrer(url, connector, `29:newcomer-${index}`, `Newcomer ${index}`));
    const after = await Promise.all(newcomers.map((referrer) => referrer.refer()));
    for (const reference of after) expect(acknowledged).not.to.include(reference);

    // Nothing is left running on the data folder once Signpost has stopped: no orphaned store.
    await bot.stop();
    expect(processesUsing(dataDir)).to.deep.equal([]);
  });

  it('kill -9 of the bot and its store together (a power cut): every acknowledged referral survives, and Signpost starts again @safety', async () => {
    const acknowledged = await referWhileCrashing(async () => {
      // The store first (it is in a process group of its own), then the bot: nothing gets to flush.
      for (const line of processesUsing(dataDir)) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      await bot!.kill();
    });
    expect(processesUsing(dataDir)).to.deep.equal([]);

    // A stale lock from the dead store does not stop a restart.
    bot = await BotProcess.start(dataDir, settings);
    const admin = new Referrer(url, connector, '29:admin', 'Admin');
    for (const reference of acknowledged) {
      expect(await admin.ask(`status ${reference}`), reference).to.contain(`${reference}: New with`);
    }
  });
});
