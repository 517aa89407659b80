import { RestError, TableClient, TableServiceClient } from '@azure/data-tables';

/** Observes each request to storage (method and table), e.g. for a benchmark to count reads. */
export type RequestObserver = (request: { method: string; url: string }) => void;

/**
 * One connection to Table storage (Azurite, Azure Storage or Cosmos DB Table API),
 * handing out clients for named tables and creating each table once.
 */
export class TableConnection {
  private readonly ensured = new Map<string, Promise<void>>();
  private readonly insecure: boolean;

  constructor(
    readonly connectionString: string,
    private readonly observe?: RequestObserver,
  ) {
    // Azurite speaks plain http on loopback; the SDK refuses http unless told.
    this.insecure = /DefaultEndpointsProtocol=http;|TableEndpoint=http:\/\//i.test(connectionString);
  }

  client(tableName: string): TableClient {
    const observe = this.observe;
    return TableClient.fromConnectionString(this.connectionString, tableName, {
      allowInsecureConnection: this.insecure,
      ...(observe
        ? {
            additionalPolicies: [
              {
                position: 'perCall' as const,
                policy: {
                  name: 'signpostRequestObserver',
                  sendRequest: (request, next) => {
                    observe({ method: request.method, url: request.url });
                    return next(request);
                  },
                },
              },
            ],
          }
        : {}),
    });
  }

  /** A client for a table that is known to exist (created on first use). */
  async table(tableName: string): Promise<TableClient> {
    let ready = this.ensured.get(tableName);
    if (!ready) {
      const client = this.client(tableName);
      ready = client.createTable().catch((error) => {
        this.ensured.delete(tableName);
        throw error;
      });
      this.ensured.set(tableName, ready);
    }
    await ready;
    return this.client(tableName);
  }

  service(): TableServiceClient {
    return TableServiceClient.fromConnectionString(this.connectionString, {
      allowInsecureConnection: this.insecure,
    });
  }

  /** Cheap round trip for the health endpoint: lists at most one table. */
  async ping(): Promise<void> {
    const pages = this.service().listTables().byPage({ maxPageSize: 1 });
    await pages.next();
  }
}

/** The HTTP status a storage call failed with (404 not found, 409 exists, 412 changed since read). */
export function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : (error as { statusCode?: number })?.statusCode;
}
