import { readFileSync } from 'node:fs';
import { DirectoryService, DirectoryValidationError, parseDirectory } from '../domain/directory/schema';
import { Activity, ActivitiesValidationError, parseActivities } from '../domain/directory/activities';
import { southwarkDirectory } from '../domain/directory/southwark';
import { sampleActivities } from '../domain/directory/sampleActivities';
import { TableConnection } from '../storage/tables';
import { DirectoryRepository } from '../storage/directoryRepository';
import { ActivityRepository } from '../storage/activityRepository';
import type { EntryVersion } from '../storage/versionedEntries';
import { fromOpenReferralUk, OPEN_REFERRAL_UK_FORMAT, OpenReferralImportError, toOpenReferralUk } from '../storage/openReferralUk';

/**
 * `npm run --silent directory -- validate <file>`: checks a directory file (Signpost's own, or
 * Open Referral UK); every problem names the entry and the field. Exit 0 valid, 2 invalid.
 * `npm run --silent directory -- import <file>`: replaces the directory in Table storage
 * (SIGNPOST_STORAGE_CONNECTION_STRING) with the file's services; an Open Referral UK file
 * replaces the services and the activities. Nothing is written unless the whole file is valid.
 * `npm run --silent directory -- validate-activities|import-activities <file>`: the same for an
 * activities file.
 * `npm run --silent directory -- export --format openreferral-uk`: services and activities as
 * Open Referral UK on stdout (from Table storage when configured, else the checked-in files).
 * `npm run --silent directory -- history <service or activity id>`: every version of the entry,
 * oldest first: when, by which route, by whom, which fields changed and to what. A service's
 * history is shown when there is one, else the activity's; `history-activity <id>` asks for the
 * activity's alone (should an activity share a service's id).
 */
const USAGE = [
  'usage: npm run --silent directory -- validate|import <file>',
  '       npm run --silent directory -- validate-activities|import-activities <file>',
  '       npm run --silent directory -- history <service or activity id>',
  '       npm run --silent directory -- history-activity <activity id>',
  `       npm run --silent directory -- export --format ${OPEN_REFERRAL_UK_FORMAT}`,
].join('\n');

type Loaded = { services?: DirectoryService[]; activities?: Activity[] };

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'export') return exportDirectory(rest);
  if (command === 'history' || command === 'history-activity') return rest[0] ? history(rest[0], command === 'history-activity') : usage();
  const file = rest.find((arg) => !arg.startsWith('--') && arg !== OPEN_REFERRAL_UK_FORMAT);
  if (!['validate', 'import', 'validate-activities', 'import-activities'].includes(command ?? '') || !file) return usage();
  let loaded: Loaded;
  try {
    loaded = load(command!.endsWith('-activities') ? 'activities' : 'directory', JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    const problems = error instanceof DirectoryValidationError || error instanceof ActivitiesValidationError || error instanceof OpenReferralImportError ? error.problems : [`${file}: ${(error as Error).message}`];
    for (const problem of problems) process.stderr.write(`${problem}\n`);
    return 2;
  }
  if (command!.startsWith('validate')) {
    const parts = [
      ...(loaded.services ? [`${loaded.services.length} services, ${loaded.services.filter((service) => service.takesReferrals).length} take referrals`] : []),
      ...(loaded.activities ? [`${loaded.activities.length} activities`] : []),
    ];
    process.stdout.write(`${file}: valid (${parts.join('; ')})\n`);
    return 0;
  }
  const tables = storage();
  if (!tables) return 2;
  if (loaded.services) {
    const result = await new DirectoryRepository(tables).importAll(loaded.services, { name: 'directory import (command line)' });
    process.stdout.write(`Imported ${result.imported} services; removed ${result.removed.length ? result.removed.join(', ') : 'none'}.\n`);
  }
  if (loaded.activities) {
    const result = await new ActivityRepository(tables).importAll(loaded.activities);
    process.stdout.write(`Imported ${result.imported} activities; removed ${result.removed.length ? result.removed.join(', ') : 'none'}.\n`);
  }
  return 0;
}

/** A Signpost services or activities file, or an Open Referral UK page (which holds both): all of it valid, or an error naming every problem. */
function load(expected: 'directory' | 'activities', input: unknown): Loaded {
  if (input && typeof input === 'object' && 'contents' in input) return fromOpenReferralUk(input);
  return expected === 'activities' ? { activities: parseActivities(input) } : { services: parseDirectory(input) };
}

function storage(what = 'import'): TableConnection | undefined {
  const connectionString = process.env.SIGNPOST_STORAGE_CONNECTION_STRING;
  if (connectionString) return new TableConnection(connectionString);
  process.stderr.write(`Set SIGNPOST_STORAGE_CONNECTION_STRING to ${what}. On the embedded default, Signpost loads the checked-in directory and activities itself on first start.\n`);
  return undefined;
}

async function exportDirectory(args: string[]): Promise<number> {
  const format = args[args.indexOf('--format') + 1];
  if (!args.includes('--format') || format !== OPEN_REFERRAL_UK_FORMAT) return usage();
  const connectionString = process.env.SIGNPOST_STORAGE_CONNECTION_STRING;
  let directories;
  if (connectionString) {
    const tables = new TableConnection(connectionString);
    directories = { services: await new DirectoryRepository(tables).list(), activities: await new ActivityRepository(tables).list() };
  } else {
    process.stderr.write('No SIGNPOST_STORAGE_CONNECTION_STRING: exporting the checked-in directory and sample activities.\n');
    directories = { services: southwarkDirectory(), activities: sampleActivities() };
  }
  process.stdout.write(`${JSON.stringify(toOpenReferralUk(directories), null, 2)}\n`);
  return 0;
}

function usage(): number {
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

async function history(id: string, activityOnly: boolean): Promise<number> {
  const tables = storage('read the history');
  if (!tables) return 2;
  const serviceVersions = activityOnly ? [] : await new DirectoryRepository(tables).history(id);
  const versions: Array<EntryVersion<object>> = serviceVersions.length ? serviceVersions : await new ActivityRepository(tables).history(id);
  if (!versions.length) {
    process.stderr.write(`No history for "${id}": there is no such ${activityOnly ? 'activity' : 'service or activity'}, or it has not changed since it was first imported.\n`);
    return 2;
  }
  for (const version of versions) process.stdout.write(`${describeVersion(version)}\n`);
  return 0;
}

function describeVersion(version: EntryVersion<object>): string {
  const by = version.by.email ? `${version.by.name} <${version.by.email}>` : version.by.name;
  const lines = [`version ${version.version}  ${version.at}  ${version.route}  by ${by}`];
  if (version.version === 1) lines.push('  first version');
  else {
    for (const field of version.changed) {
      const value = (version.entry as Record<string, unknown>)[field];
      lines.push(`  ${field}: ${value === undefined ? '(removed)' : JSON.stringify(value)}`);
    }
  }
  if (version.note) lines.push(`  note: ${version.note}`);
  return lines.join('\n');
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`directory: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
