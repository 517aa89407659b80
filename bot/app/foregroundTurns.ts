/**
 * The turns Signpost is answering right now. Work nobody is waiting for (the outbox, the shared
 * card redrawn behind a click) waits for a quiet moment before it starts, briefly, so that under
 * a burst of clicks the CPU goes to the people waiting for an answer first. Never longer than
 * asked: under constant load the background work still goes on.
 */
/** How long background work lets the turns being answered go first, unless it asks otherwise. */
const FOREGROUND_FIRST_MS = 100;

export class ForegroundTurns {
  private active = 0;
  private waiting = new Set<() => void>();

  begin(): void {
    this.active += 1;
  }

  end(): void {
    this.active = Math.max(0, this.active - 1);
    if (this.active > 0) return;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const go of waiting) go();
  }

  /** Resolves once no turn is being answered, or after maxWaitMs, whichever comes first. */
  quiet(maxWaitMs = FOREGROUND_FIRST_MS): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const go = () => {
        clearTimeout(timer);
        this.waiting.delete(go);
        resolve();
      };
      const timer = setTimeout(go, maxWaitMs);
      this.waiting.add(go);
    });
  }
}
