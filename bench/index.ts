import * as cards from './cards.bench';
import * as matcher from './matcher.bench';
import * as search from './search.bench';
import * as storageRequest from './storageRequest.bench';
import * as report from './report.bench';
import * as supervision from './supervision.bench';
import * as turns from './turns.bench';

/**
 * `npm run bench`: runs every benchmark and prints a readable line and one JSON line each.
 * Run it on an otherwise idle machine; numbers are for comparison between commits, not tests.
 */
const benches: Array<{ run: () => Promise<{ name: string }> }> = [cards, matcher, search, storageRequest, turns, supervision, report];

/** key=value pairs; a nested group's values as group.key=value. */
function readable(numbers: Record<string, unknown>, prefix = ''): string {
  return Object.entries(numbers)
    .map(([key, value]) => (value && typeof value === 'object' && !Array.isArray(value) ? readable(value as Record<string, unknown>, `${prefix}${key}.`) : `${prefix}${key}=${value}`))
    .join(' ');
}

async function main(): Promise<void> {
  for (const bench of benches) {
    const result = await bench.run();
    const { name, ...numbers } = result as { name: string } & Record<string, unknown>;
    process.stdout.write(`${name}: ${readable(numbers)}\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack}\n`);
  process.exitCode = 1;
});
