import { expect } from 'chai';
import sinon from 'sinon';
import { ForegroundTurns } from '../../bot/app/foregroundTurns';

describe('ForegroundTurns (background work lets turns being answered go first)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers()));
  afterEach(() => clock.restore());

  /** Whether the promise has settled by now (after the microtasks queued so far). */
  async function settled(promise: Promise<void>): Promise<boolean> {
    let done = false;
    void promise.then(() => (done = true));
    await clock.tickAsync(0);
    return done;
  }

  it('lets background work start at once when no turn is being answered', async () => {
    expect(await settled(new ForegroundTurns().quiet(100))).to.equal(true);
  });

  it('holds it until the last turn is answered', async () => {
    const turns = new ForegroundTurns();
    turns.begin();
    turns.begin();
    const waiting = turns.quiet(100);
    turns.end();
    expect(await settled(waiting)).to.equal(false);
    await clock.tickAsync(40);
    turns.end();
    expect(await settled(waiting)).to.equal(true);
  });

  it('never holds it longer than asked, however busy it stays, and keeps nothing once it has gone', async () => {
    const turns = new ForegroundTurns();
    turns.begin();
    const waiting = turns.quiet(100);
    await clock.tickAsync(99);
    expect(await settled(waiting)).to.equal(false);
    await clock.tickAsync(1);
    expect(await settled(waiting)).to.equal(true);
    expect((turns as unknown as { waiting: Set<unknown> }).waiting.size).to.equal(0);
  });
});
