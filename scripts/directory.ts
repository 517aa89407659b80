import { readFileSync } from 'node:fs';
import { DirectoryValidationError, parseDirectory } from '../domain/directory/schema';
import { TableConnection } from '../storage/tables';
import { DirectoryRepository } from '../storage/directoryRepository';

/**
 * `npm run --silent directory -- validate <file>`: checks a directory file; every problem names
 * the service and the field. Exit 0 valid, 2 invalid.
 * `npm run --silent directory -- import <file>`: replaces the directory in Table storage
 * (SIGNPOST_STORAGE_CONNECTION_STRING) with the file's services.
 */
async function main(argv: string[]): Promise<number> {
  const [command, file] = argv;
  if (!['validate', 'import'].includes(command ?? '') || !file) {
    process.stderr.write('usage: npm run --silent directory -- validate|import <file>\n');
    return 2;
  }
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
  const connectionString = process.env.SIGNPOST_STORAGE_CONNECTION_STRING;
  if (!connectionString) {
    process.stderr.write(
      'Set SIGNPOST_STORAGE_CONNECTION_STRING to import. On the embedded default, Signpost loads the checked-in directory itself on first start.\n',
    );
    return 2;
  }
  const result = await new DirectoryRepository(new TableConnection(connectionString)).importAll(services);
  process.stdout.write(`Imported ${result.imported} services; removed ${result.removed.length ? result.removed.join(', ') : 'none'}.\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`directory: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
