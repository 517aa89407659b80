import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { startAzurite } from '../storage/azurite';
import { TableConnection } from '../storage/tables';

/**
 * What one storage request costs the bot's own CPU, warm and one at a time, against the
 * embedded Azurite (in another process): through @azure/data-tables as Signpost makes it (the
 * client TableConnection hands out: a write, a read, a two-row transaction), and as a plain
 * signed HTTP request on a keep-alive connection, the least the wire itself asks. A turn's CPU is
 * mostly its storage requests, so this says what one more request, or one fewer, is worth.
 *
 * The plain request is a yardstick only: Signpost's storage goes through the maintained client,
 * which signs, retries, times out and parses for it.
 */

const REQUESTS = Number(process.env.BENCH_STORAGE_REQUESTS ?? 1_000);
/** The kinds are measured in turn, this many times each, so the machine's drift falls on all. */
const ROUNDS = 3;

export interface StorageRequestBenchResult {
  name: string;
  requests: number;
  /** CPU of this process per request, milliseconds (the median of the rounds). */
  sdkWriteCpuMs: number;
  sdkReadCpuMs: number;
  sdkTransactionCpuMs: number;
  plainWriteCpuMs: number;
  /** The client's write against the plain one. */
  sdkWriteRatio: number;
  seconds: number;
}

export async function run(): Promise<StorageRequestBenchResult> {
  const started = performance.now();
  const azurite = await startAzurite();
  try {
    const client = await new TableConnection(azurite.connectionString).table('benchrequests');
    const plain = plainWriter(azurite.connectionString, 'benchrequests');
    let value = 0;
    const kinds: Record<'sdkWrite' | 'sdkRead' | 'sdkTransaction' | 'plainWrite', () => Promise<unknown>> = {
      sdkWrite: () => client.upsertEntity({ partitionKey: 'p', rowKey: 'r', value: (value += 1) }, 'Replace'),
      sdkRead: () => client.getEntity('p', 'r'),
      sdkTransaction: () =>
        client.submitTransaction([
          ['upsert', { partitionKey: 'p', rowKey: 't1', value: (value += 1) }, 'Replace'],
          ['upsert', { partitionKey: 'p', rowKey: 't2', value }, 'Replace'],
        ]),
      plainWrite: () => plain({ PartitionKey: 'p', RowKey: 'r', value: (value += 1) }),
    };
    const samples = new Map<string, number[]>();
    for (let round = 0; round <= ROUNDS; round += 1) {
      for (const [kind, once] of Object.entries(kinds)) {
        // Round 0 warms every path (JIT, the connection) and is not counted.
        const count = round === 0 ? 100 : REQUESTS;
        const cpu = process.cpuUsage();
        for (let index = 0; index < count; index += 1) await once();
        const used = process.cpuUsage(cpu);
        if (round > 0) samples.set(kind, [...(samples.get(kind) ?? []), (used.user + used.system) / 1000 / count]);
      }
    }
    const median = (kind: string) => {
      const sorted = [...samples.get(kind)!].sort((a, b) => a - b);
      return round3(sorted[Math.floor(sorted.length / 2)]);
    };
    return {
      name: 'storageRequest',
      requests: REQUESTS,
      sdkWriteCpuMs: median('sdkWrite'),
      sdkReadCpuMs: median('sdkRead'),
      sdkTransactionCpuMs: median('sdkTransaction'),
      plainWriteCpuMs: median('plainWrite'),
      sdkWriteRatio: Math.round((median('sdkWrite') / median('plainWrite')) * 100) / 100,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await azurite.stop();
  }
}

/** Upserts one entity with a plain HTTP PUT, signed with the account key (SharedKeyLite), on a keep-alive connection. */
function plainWriter(connectionString: string, table: string): (entity: Record<string, unknown>) => Promise<void> {
  const setting = (name: string) => new RegExp(`${name}=([^;]+)`).exec(connectionString)?.[1] ?? '';
  const endpoint = new URL(setting('TableEndpoint').replace(/\/?$/, '/'));
  const account = setting('AccountName');
  const key = Buffer.from(setting('AccountKey'), 'base64');
  const agent = new Agent({ keepAlive: true });
  return (entity) =>
    new Promise((resolve, reject) => {
      const path = `${endpoint.pathname}${table}(PartitionKey='${entity.PartitionKey}',RowKey='${entity.RowKey}')`;
      const date = new Date().toUTCString();
      const signature = createHmac('sha256', key).update(`${date}\n/${account}${path}`).digest('base64');
      const body = JSON.stringify(entity);
      const sent = request(
        {
          host: endpoint.hostname,
          port: endpoint.port,
          path,
          method: 'PUT',
          agent,
          headers: {
            'x-ms-date': date,
            'x-ms-version': '2019-02-02',
            Authorization: `SharedKeyLite ${account}:${signature}`,
            'Content-Type': 'application/json',
            Accept: 'application/json;odata=nometadata',
            DataServiceVersion: '3.0;',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => ((response.statusCode ?? 500) < 300 ? resolve() : reject(new Error(`plain write answered ${response.statusCode}`))));
        },
      );
      sent.on('error', reject);
      sent.end(body);
    });
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
