import { odata, TableClient } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import type { SupervisorRole } from '../domain/supervision/escalation';

/**
 * Supervisors a team owner added to a service from its channel (`supervisors add`), on top of
 * any the directory lists. Partition = service id, row = the supervisor's email address.
 */
export interface StoredSupervisor {
  serviceId: string;
  email: string;
  name?: string;
  role: SupervisorRole;
  /** Their Teams id, when they are in the service's team: alerts then reach their chat. */
  teamsUserId?: string;
  addedBy: { id: string; name?: string };
  addedAt: string;
}

type SupervisorEntity = { partitionKey: string; rowKey: string; body: string };

export class SupervisorRepository {
  private readonly client: Promise<TableClient>;

  constructor(tables: TableConnection, tableName = 'supervisors') {
    this.client = tables.table(tableName);
  }

  async list(serviceId: string): Promise<StoredSupervisor[]> {
    const found: StoredSupervisor[] = [];
    for await (const entity of (await this.client).listEntities<SupervisorEntity>({ queryOptions: { filter: odata`PartitionKey eq ${serviceId}` } })) {
      found.push(JSON.parse(entity.body) as StoredSupervisor);
    }
    return found.sort((a, b) => a.email.localeCompare(b.email));
  }

  /** Adds or updates (e.g. a new role) a supervisor. */
  async save(supervisor: StoredSupervisor): Promise<void> {
    const email = supervisor.email.toLowerCase();
    await (await this.client).upsertEntity<SupervisorEntity>(
      { partitionKey: supervisor.serviceId, rowKey: encodeURIComponent(email), body: JSON.stringify({ ...supervisor, email }) },
      'Replace',
    );
  }

  /** Removes one; false when they were not a supervisor of the service. */
  async remove(serviceId: string, email: string): Promise<boolean> {
    try {
      await (await this.client).deleteEntity(serviceId, encodeURIComponent(email.toLowerCase()));
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }
}
