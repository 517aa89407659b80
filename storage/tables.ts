import { RestError, TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** Observes each request to storage (method and table), e.g. for a benchmark to count reads. */
export type RequestObserver = (request: { method: string; url: string }) => void;

/**
 * How long one storage call may take in all, retries included, unless configured otherwise.
 * Under 5 s because Teams gives a card action (invoke) about that long before it gives up and
 * sends it again; a message turn has about 15 s.
 */
export const DEFAULT_STORAGE_TIMEOUT_MS = 4_000;

export interface TableConnectionOptions {
  /** Deadline of one logical storage call, retries and their waits included (SIGNPOST_STORAGE_TIMEOUT_MS). */
  timeoutMs?: number;
  observe?: RequestObserver;
}

/**
 * Storage did not answer in time or could not be reached at all. Callers and logs tell it
 * apart from a refusal by storage (404, 409, 412), which always comes with a status code.
 */
export class StorageUnavailableError extends Error {
  readonly code = 'StorageUnavailable';
  override readonly name = 'StorageUnavailableError';
}

/** True for a StorageUnavailableError, also when something on the way wrapped it as a cause. */
export function isStorageUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    if (current instanceof StorageUnavailableError) return true;
  }
  return false;
}

/**
 * One connection to Table storage (Azurite, Azure Storage or Cosmos DB Table API),
 * handing out clients for named tables and creating each table once.
 */
export class TableConnection {
  private readonly ensured = new Map<string, Promise<void>>();
  private readonly clientOptions: TableServiceClientOptions;

  constructor(
    readonly connectionString: string,
    options: TableConnectionOptions = {},
  ) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_STORAGE_TIMEOUT_MS;
    const observe = options.observe;
    this.clientOptions = {
      // Azurite speaks plain http on loopback; the SDK refuses http unless told.
      allowInsecureConnection: /DefaultEndpointsProtocol=http;|TableEndpoint=http:\/\//i.test(connectionString),
      // Quick failures (connection reset, 5xx, throttling) are tried again, briefly: the SDK's
      // default (3 retries from 1 s, up to 64 s apart) would outlast any Teams turn.
      retryOptions: { maxRetries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 1_000 },
      additionalPolicies: [
        { position: 'perCall', policy: deadlinePolicy(timeoutMs) },
        ...(observe
          ? [
              {
                position: 'perCall' as const,
                policy: {
                  name: 'signpostRequestObserver',
                  sendRequest: (request, next) => {
                    observe({ method: request.method, url: request.url });
                    return next(request);
                  },
                } satisfies PipelinePolicy,
              },
            ]
          : []),
      ],
    };
  }

  client(tableName: string): TableClient {
    return TableClient.fromConnectionString(this.connectionString, tableName, this.clientOptions);
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
    return TableServiceClient.fromConnectionString(this.connectionString, this.clientOptions);
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

/**
 * Gives one logical call (every try and every wait between tries) a deadline, so a storage
 * that accepts connections but never answers (overloaded, or a frozen process) fails the call
 * within timeoutMs instead of holding a Teams turn for minutes. The deadline aborts the try in
 * flight, which destroys its socket, so the next call starts on a fresh connection.
 *
 * So each try's timeout is what is left of the call's deadline. No shorter per-try timeout with
 * a retry after it: a write that timed out may still land once storage answers, so repeating it
 * is not safe, and a read slow enough to time out gains little from starting again with less time.
 */
function deadlinePolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'signpostStorageDeadline',
    async sendRequest(request, next) {
      const callerSignal = request.abortSignal;
      const deadline = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        deadline.abort();
      }, timeoutMs);
      const passOnAbort = () => deadline.abort();
      if (callerSignal?.aborted) deadline.abort();
      callerSignal?.addEventListener('abort', passOnAbort);
      request.abortSignal = deadline.signal;
      try {
        return await next(request);
      } catch (error) {
        if (timedOut) {
          throw new StorageUnavailableError(`Table storage did not answer within ${timeoutMs} ms (${describeRequest(request)}).`, { cause: error });
        }
        // No response at all (refused, reset, name not found), even after the retries.
        if (error instanceof RestError && error.statusCode === undefined) {
          throw new StorageUnavailableError(`Table storage could not be reached: ${error.code ?? 'no response'} (${describeRequest(request)}).`, { cause: error });
        }
        throw error;
      } finally {
        clearTimeout(timer);
        callerSignal?.removeEventListener('abort', passOnAbort);
        request.abortSignal = callerSignal;
      }
    },
  };
}

/** Method and table only: keys in the URL can carry Teams conversation ids. */
function describeRequest(request: { method: string; url: string }): string {
  const table = new URL(request.url).pathname.split('/').pop()?.split('(')[0];
  return `${request.method} ${table || 'storage'}`;
}
