import { startAzurite, RunningAzurite } from '../../storage/azurite';
import { TableConnection } from '../../storage/tables';

/** Starts an in-memory Azurite for one test file; call the returned stop in after(). */
export async function testTables(): Promise<{ azurite: RunningAzurite; tables: TableConnection }> {
  const azurite = await startAzurite();
  return { azurite, tables: new TableConnection(azurite.connectionString) };
}

let counter = 0;
/** A table name no other test uses (Azure table names: letters and digits, starting with a letter). */
export function uniqueTableName(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`.replace(/[^A-Za-z0-9]/g, '').slice(0, 63);
}
