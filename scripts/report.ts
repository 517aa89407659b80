import path from 'node:path';
import { loadConfig } from '../bot/app/config';
import { bankHolidays } from '../bot/supervision/bankHolidays';
import { ReportTotals } from '../bot/reports/reportTotals';
import { WorkingCalendar } from '../domain/supervision/workingCalendar';
import { startAzurite, RunningAzurite } from '../storage/azurite';
import { referralStorage } from '../storage/referralStorage';
import { ReportCounterRepository } from '../storage/reportCounterRepository';
import { TableConnection } from '../storage/tables';

/**
 * `npm run --silent report -- rebuild [year]`: recomputes the borough report's running totals
 * for a year (default this year) from the referrals and their audit trails, says which rows
 * differed from the stored totals, and writes the recomputed ones (in the partition-per-month
 * layout, deleting any rows of the first, per-year layout: see the README). Uses
 * SIGNPOST_STORAGE_CONNECTION_STRING, or the embedded store under the data folder (stop Signpost
 * first: the embedded store is one process's at a time). Exit 0 when nothing differed, 3 when
 * something did (and was corrected).
 */
async function main(argv: string[]): Promise<number> {
  const [command, yearText] = argv;
  const year = yearText ? Number(yearText) : new Date().getUTCFullYear();
  if (command !== 'rebuild' || !Number.isInteger(year) || year < 2020 || year > 2100) {
    process.stderr.write('usage: npm run --silent report -- rebuild [year]\n');
    return 2;
  }
  const config = loadConfig();
  let azurite: RunningAzurite | undefined;
  let connectionString = config.storageConnectionString;
  if (!connectionString) {
    azurite = await startAzurite({ location: path.join(config.dataDir, 'azurite') });
    connectionString = azurite.connectionString;
  }
  try {
    const tables = new TableConnection(connectionString, { timeoutMs: config.storageTimeoutMs });
    const totals = new ReportTotals({
      counters: new ReportCounterRepository(tables),
      referrals: referralStorage(tables).referrals,
      calendar: new WorkingCalendar(config.supervision.workingHours, bankHolidays(config.supervision.holidays)),
    });
    const { referrals, differing } = await totals.rebuild(year);
    process.stdout.write(`Rebuilt the ${year} report from ${referrals} referrals. `);
    if (differing.length === 0) {
      process.stdout.write('The running totals were right.\n');
      return 0;
    }
    process.stdout.write(`${differing.length} rows differed and were corrected:\n${differing.map((row) => `  ${row}\n`).join('')}`);
    return 3;
  } finally {
    await azurite?.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`report: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
