import { describeError, Logger } from './log';

/**
 * Runs a pass now and then every interval until stopped. A pass already under way is joined,
 * never doubled (a `kick` after a write and the timer can coincide); a failed pass is logged
 * and the loop goes on. Shared by the notification dispatcher and the supervision scheduler.
 */
export abstract class PollingLoop<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;
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

  /** A pass now, if the loop is running. */
  kick(): void {
    if (this.stopped || !this.timer) return;
    void this.runOnce().catch((error) => this.loopLogger.error(this.failureEvent, describeError(error)));
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
