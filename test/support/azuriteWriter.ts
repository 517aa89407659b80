import { startAzurite } from '../../storage/azurite';
import { TableConnection } from '../../storage/tables';

/**
 * Stands in for the bot in the crash tests: `node azuriteWriter.js <folder> <table>` starts the
 * embedded store on the folder and inserts entities one at a time, printing each row key once
 * Azurite has acknowledged it, until it is killed.
 */
async function main(): Promise<void> {
  const [location, tableName] = process.argv.slice(2);
  const azurite = await startAzurite({ location });
  const table = await new TableConnection(azurite.connectionString).table(tableName);
  for (let index = 0; ; index += 1) {
    const rowKey = `row${String(index).padStart(6, '0')}`;
    await table.createEntity({ partitionKey: 'crash', rowKey, index });
    process.stdout.write(`${rowKey}\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
