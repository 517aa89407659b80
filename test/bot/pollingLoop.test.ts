import { expect } from 'chai';
import { PollingLoop } from '../../bot/app/pollingLoop';
import { createLogger } from '../../bot/app/log';

/** A loop whose pass takes work queued so far; the test decides when a pass ends. */
class QueueLoop extends PollingLoop<number> {
  readonly queue: string[] = [];
  readonly handled: string[][] = [];
  passes = 0;
  release: (() => void) | undefined;
  constructor() {
    super(createLogger('error', () => undefined), 'test-loop-failed');
  }
  protected async pass(): Promise<number> {
    this.passes += 1;
    const taken = this.queue.splice(0);
    await new Promise<void>((resolve) => (this.release = resolve));
    this.handled.push(taken);
    return taken.length;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('Polling loop', () => {
  it('runs one more pass right after the current one when kicked during it, not at the next interval', async () => {
    const loop = new QueueLoop();
    loop.start(60_000);
    await tick();
    expect(loop.passes).to.equal(1); // the first pass, at start
    loop.queue.push('queued during the pass');
    loop.kick();
    loop.kick(); // kicks during one pass share one follow-up
    loop.release!();
    await tick();
    await tick();
    expect(loop.passes).to.equal(2);
    loop.release!();
    await tick();
    expect(loop.handled).to.deep.equal([[], ['queued during the pass']]);
    await loop.stop();
  });

  it('never runs two passes at once', async () => {
    const loop = new QueueLoop();
    loop.start(60_000);
    await tick();
    const joined = loop.runOnce();
    expect(loop.passes).to.equal(1);
    loop.release!();
    expect(await joined).to.equal(0);
    await loop.stop();
  });
});
