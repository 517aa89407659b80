import { expect } from 'chai';
import { testTables, uniqueTableName } from './support/azurite';
import type { RunningAzurite } from '../storage/azurite';
import type { TableConnection } from '../storage/tables';

describe('Azurite table connection', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  before(async () => ({ azurite, tables } = await testTables()));
  after(async () => azurite?.stop());

  it('creates a table and round-trips an entity', async () => {
    const client = await tables.table(uniqueTableName('smoke'));
    await client.createEntity({ partitionKey: 'p', rowKey: 'r', value: 'hello' });
    const entity = await client.getEntity<{ value: string }>('p', 'r');
    expect(entity.value).to.equal('hello');
    await tables.ping();
  });
});
