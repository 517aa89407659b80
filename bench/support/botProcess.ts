import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { QueueEntry } from '../../storage/serviceQueueRepository';
import type { StoredReferral } from '../../storage/referralRepository';
import type { AuditEvent } from '../../domain/referral/referral';

/**
 * A bot under benchmark in a process of its own (botHost.ts), so that its CPU and memory are
 * measured apart from the load generator and the Connector stand-in. The bench talks to it over
 * the IPC channel: one request kind per thing it needs to read or do inside the bot.
 */

const HOST_SCRIPT = path.join(__dirname, 'botHost.js');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

/** The bare bot, the form-floor bot (the least a durable form step costs) and Signpost. */
export type BotKind = 'bare' | 'formFloor' | 'signpost';

export interface BotHostSettings {
  kind: BotKind;
  /** Signpost's and the form-floor bot's storage (the bench's Azurite). */
  connectionString?: string;
  /** Keep each storage request's method and path, to list what a turn asks of storage. */
  traceStorage?: boolean;
}

/** The bot process's CPU (user + system, microseconds since it started) and memory, in bytes. */
export interface ProcessUsage {
  cpuMicros: number;
  rss: number;
  heapUsed: number;
  /** Signpost and the form-floor bot: storage requests since it started. */
  storageRequests?: number;
}

/** Each request kind's arguments and result. */
export interface BotRequests {
  /** `gc`: a full collection first, so memory figures are what is live. */
  usage: { args: { gc?: boolean }; result: ProcessUsage };
  profileStart: { args: Record<string, never>; result: null };
  /** Writes the CPU profile (node:inspector) to `file`, from inside the bot's process. */
  profileStop: { args: { file: string }; result: null };
  /** Stops the bot (Signpost: in-flight turns finish, loops stop); the process then exits. */
  stop: { args: Record<string, never>; result: null };
  // Signpost only.
  caughtUp: { args: Record<string, never>; result: null };
  pauseDispatcher: { args: Record<string, never>; result: null };
  resumeDispatcher: { args: { intervalMs: number }; result: null };
  queue: { args: { serviceId: string }; result: QueueEntry[] };
  referral: { args: { id: string }; result: StoredReferral | undefined };
  audit: { args: { id: string }; result: AuditEvent[] };
  /** Storage requests so far, and how many are in the trace (to read the trace from there later); `replied`: the same when Signpost last finished a reply. */
  storageCount: { args: Record<string, never>; result: StorageMark & { replied: StorageMark } };
  storageTrace: { args: { from: number }; result: string[] };
}

/** A point in Signpost's storage requests: how many so far, and how many of them are in the trace. */
export interface StorageMark {
  requests: number;
  traced: number;
}

export type RequestKind = keyof BotRequests;

export interface RequestMessage<K extends RequestKind = RequestKind> {
  id: number;
  kind: K;
  args: BotRequests[K]['args'];
}

export type ResponseMessage = { id: number; result: unknown } | { id: number; error: string };

/** What the host sends once its bot listens. */
export interface ReadyMessage {
  type: 'ready';
  url: string;
}

export interface BotProcess {
  kind: BotKind;
  url: string;
  pid: number;
  request<K extends RequestKind>(kind: K, ...args: BotRequests[K]['args'] extends Record<string, never> ? [] : [BotRequests[K]['args']]): Promise<BotRequests[K]['result']>;
  /** Asks the bot to stop and waits for its process to exit (killing it if it does not). */
  stop(): Promise<void>;
}

export async function startBotProcess(settings: BotHostSettings): Promise<BotProcess> {
  // --expose-gc: `usage` with gc measures what is live. The IPC channel is the host's lifeline:
  // when the bench exits or dies, the channel closes and the host exits too.
  // BENCH_BOT_NODE_ARGS passes Node flags to the bot alone (for example `--cpu-prof`, which
  // NODE_OPTIONS refuses, or heap settings being compared).
  const extraNodeArgs = (process.env.BENCH_BOT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, ['--expose-gc', ...extraNodeArgs, HOST_SCRIPT, JSON.stringify(settings)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const url = await waitForReady(child, settings.kind);
  let nextId = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  child.on('message', (message: ResponseMessage) => {
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if ('error' in message) waiting.reject(new Error(`${settings.kind} bot: ${message.error}`));
    else waiting.resolve(message.result);
  });
  child.once('exit', (code, signal) => {
    for (const waiting of pending.values()) waiting.reject(new Error(`${settings.kind} bot exited (${signal ?? code}) before answering`));
    pending.clear();
  });
  const request = <K extends RequestKind>(kind: K, args?: BotRequests[K]['args']): Promise<BotRequests[K]['result']> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error(`${settings.kind} bot is not running`));
      const id = (nextId += 1);
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, kind, args: args ?? {} } satisfies RequestMessage);
    });
  return {
    url,
    kind: settings.kind,
    pid: child.pid!,
    request: request as BotProcess['request'],
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await request('stop').catch(() => undefined);
      await exited;
      clearTimeout(force);
    },
  };
}

function waitForReady(child: ChildProcess, kind: BotKind): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`the ${kind} bot did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const onMessage = (message: Partial<ReadyMessage>) => {
      if (message?.type === 'ready' && typeof message.url === 'string') finish(undefined, message.url);
    };
    const onExit = (code: number | null, signal: string | null) => finish(new Error(`the ${kind} bot exited (${signal ?? code}) before it was ready`));
    function finish(error?: Error, url?: string) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(url!);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
