import { describeError, Logger } from './log';

/**
 * Runs a pass now and then every interval until stopped. Passes never overlap (a `kick` after
 * a write and the timer can coincide); a `kick` that arrives while a pass is under way runs one
 * more pass right after it, so work queued meanwhile does not wait for the next interval. A
 * failed pass is logged and the loop goes on. Shared by the dispatcher and the scheduler.
 */
export abstract class PollingLoop<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;
  /** A kick came during the running pass: its work may have been queued after the pass read. */
  private again: Promise<T | undefined> | undefined;
  private stopped = false;

  protected constructor(
    private readonly loopLogger: Logger,
    private readonly failureEvent: string,
  ) {}

  /** One pass of the work: what is due now. */
  protected abstract pass(): Promise<T>;

  start(intervalMs: number): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      void this.runOnce()
        .catch((error) => this.loopLogger.error(this.failureEvent, describeError(error)))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, intervalMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  /** A pass now, if the loop is running; during a pass, one more right after it. */
  kick(): void {
    if (this.stopped || !this.timer) return;
    const pass = this.running ? this.followUp(this.running) : this.runOnce();
    void pass.catch((error) => this.loopLogger.error(this.failureEvent, describeError(error)));
  }

  /** One more pass after the one under way; every kick meanwhile shares it. */
  private followUp(current: Promise<T>): Promise<T | undefined> {
    this.again ??= current
      .catch(() => undefined)
      .then(() => {
        this.again = undefined;
        return this.stopped ? undefined : this.runOnce();
      });
    return this.again;
  }

  /**
   * Resolves once a pass that began after this call has finished: everything queued before the
   * call has been done, or put off to a retry (tests and tools that must see the work's effect).
   */
  async caughtUp(): Promise<void> {
    await this.runOnce().catch(() => undefined);
    await this.runOnce();
  }

  /** One pass now; a pass already under way is joined, not doubled. */
  runOnce(): Promise<T> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
