/**
 * A small in-process token bucket per key (an IP address, a link): `capacity` requests at once,
 * refilled at `perMinute`. Enough to stop a script hammering the link and action endpoints from
 * one place; a deployment with several instances multiplies the allowance by their number.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly perMinute: number,
    private readonly clock: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  /** Takes one token for the key; false when the key has none left. */
  take(key: string): boolean {
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 60_000) * this.perMinute);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    // Kept in order of last use, so when too many keys are held the least recently used is
    // forgotten (a forgotten key starts full): a busy key is never the one dropped, and memory stays bounded.
    this.buckets.delete(key);
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(key, bucket);
    return allowed;
  }
}
