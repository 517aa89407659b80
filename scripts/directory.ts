import { readFileSync } from 'node:fs';
import { DirectoryValidationError, parseDirectory } from '../domain/directory/schema';
import { TableConnection } from '../storage/tables';
import { DirectoryRepository, ServiceVersion } from '../storage/directoryRepository';

/**
 * `npm run --silent directory -- validate <file>`: checks a directory file; every problem names
 * the service and the field. Exit 0 valid, 2 invalid.
 * `npm run --silent directory -- import <file>`: replaces the directory in Table storage
 * (SIGNPOST_STORAGE_CONNECTION_STRING) with the file's services.
 * `npm run --silent directory -- history <service id>`: every version of the service, oldest
 * first: when, by which route, by whom, which fields changed and to what.
 */
async function main(argv: string[]): Promise<number> {
  const [command, file] = argv;
  if (!['validate', 'import', 'history'].includes(command ?? '') || !file) {
    process.stderr.write('usage: npm run --silent directory -- validate|import <file>\n       npm run --silent directory -- history <service id>\n');
    return 2;
  }
  if (command === 'history') return history(file);
  let services;
  try {
    services = parseDirectory(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    if (error instanceof DirectoryValidationError) {
      for (const problem of error.problems) process.stderr.write(`${problem}\n`);
    } else {
      process.stderr.write(`${file}: ${(error as Error).message}\n`);
    }
    return 2;
  }
  if (command === 'validate') {
    const referring = services.filter((service) => service.takesReferrals).length;
    process.stdout.write(`${file}: valid (${services.length} services, ${referring} take referrals)\n`);
    return 0;
  }
  const repository = storedDirectory('import');
  if (!repository) return 2;
  const result = await repository.importAll(services, { name: 'directory import (command line)' });
  process.stdout.write(`Imported ${result.imported} services; removed ${result.removed.length ? result.removed.join(', ') : 'none'}.\n`);
  return 0;
}

function storedDirectory(what: string): DirectoryRepository | undefined {
  const connectionString = process.env.SIGNPOST_STORAGE_CONNECTION_STRING;
  if (!connectionString) {
    process.stderr.write(
      `Set SIGNPOST_STORAGE_CONNECTION_STRING to ${what}. On the embedded default, Signpost loads the checked-in directory itself on first start.\n`,
    );
    return undefined;
  }
  return new DirectoryRepository(new TableConnection(connectionString));
}

async function history(serviceId: string): Promise<number> {
  const repository = storedDirectory('read the history');
  if (!repository) return 2;
  const versions = await repository.history(serviceId);
  if (!versions.length) {
    process.stderr.write(`No history for "${serviceId}": there is no such service, or it has not changed since it was first imported.\n`);
    return 2;
  }
  for (const version of versions) process.stdout.write(`${describeVersion(version)}\n`);
  return 0;
}

function describeVersion(version: ServiceVersion): string {
  const by = version.by.email ? `${version.by.name} <${version.by.email}>` : version.by.name;
  const lines = [`version ${version.version}  ${version.at}  ${version.route}  by ${by}`];
  if (version.version === 1) lines.push('  first version');
  else {
    for (const field of version.changed) {
      const value = (version.service as Record<string, unknown>)[field];
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
