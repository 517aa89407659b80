import { subscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { startBareBot } from '../bareBot';
import { startFormFloorBot } from '../formFloorBot';
import type { BotHostSettings, BotRequests, ProcessUsage, ReadyMessage, RequestKind, RequestMessage, ResponseMessage } from './botProcess';

/**
 * The process a benchmarked bot runs in (started by botProcess.ts with an IPC channel): starts
 * the bare bot or Signpost, reports its URL, then answers the bench's requests. It exits when
 * the channel closes, so a bench that dies leaves no bot behind.
 */

type Handlers = { [K in RequestKind]?: (args: BotRequests[K]['args']) => Promise<BotRequests[K]['result']> };

async function host(settings: BotHostSettings): Promise<void> {
  process.once('disconnect', () => process.exit(0));
  const handlers: Handlers = { ...processHandlers() };
  let stopBot: () => Promise<void>;
  let url: string;
  if (settings.kind === 'bare') {
    const bare = await startBareBot();
    ({ url } = bare);
    stopBot = bare.stop;
  } else if (settings.kind === 'formFloor') {
    let storageRequests = 0;
    const floor = await startFormFloorBot(settings.connectionString!, () => void (storageRequests += 1));
    ({ url } = floor);
    stopBot = floor.stop;
    handlers.usage = async ({ gc }) => ({ ...processUsage(gc), storageRequests });
  } else {
    const signpost = await startSignpostForBench(settings);
    ({ url } = signpost.running);
    stopBot = signpost.stop;
    Object.assign(handlers, signpost.handlers);
  }
  handlers.stop = async () => {
    await stopBot();
    return null;
  };
  process.on('message', (message: RequestMessage) => void answer(handlers, message));
  process.send!({ type: 'ready', url } satisfies ReadyMessage);
}

async function answer(handlers: Handlers, { id, kind, args }: RequestMessage): Promise<void> {
  let response: ResponseMessage;
  try {
    const handler = handlers[kind] as ((value: unknown) => Promise<unknown>) | undefined;
    if (!handler) throw new Error(`no ${kind} here`);
    response = { id, result: await handler(args) };
  } catch (error) {
    response = { id, error: (error as Error).stack ?? String(error) };
  }
  if (!process.connected) return;
  // After `stop`, the process exits (on disconnect) once the answer is out: the bench waits for both.
  process.send!(response, () => kind === 'stop' && process.disconnect());
}

/** Signpost as the bench ran it in its own process before: in-memory Azurite, storage requests counted. */
async function startSignpostForBench(settings: BotHostSettings) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'signpost-bench-'));
  let storageRequests = 0;
  const trace: string[] = [];
  const running = await startSignpost({
    connectionString: settings.connectionString,
    env: { PATH: process.env.PATH, SIGNPOST_NOTIFY_POLL_MS: '5000' },
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logger: createLogger('error'),
    observeStorage: (request) => {
      storageRequests += 1;
      if (settings.traceStorage) {
        const url = new URL(request.url);
        trace.push(`${request.method} ${decodeURIComponent(url.pathname + url.search).slice(0, 160)}`);
      }
    },
  });
  // The count when Signpost last finished writing a reply, so a turn's requests are told apart
  // from those its deferred work makes once the reply is out, however late the bench asks.
  let replied = { requests: 0, traced: 0 };
  subscribe('http.server.response.finish', () => {
    replied = { requests: storageRequests, traced: trace.length };
  });
  const { dispatcher, store } = running.signpost;
  const handlers: Handlers = {
    caughtUp: async () => {
      await dispatcher.caughtUp();
      return null;
    },
    pauseDispatcher: async () => {
      await dispatcher.stop();
      return null;
    },
    resumeDispatcher: async ({ intervalMs }) => {
      dispatcher.start(intervalMs);
      return null;
    },
    queue: ({ serviceId }) => store.queue.list(serviceId),
    referral: ({ id }) => store.referrals.get(id),
    audit: ({ id }) => store.referrals.audit(id),
    storageCount: async () => ({ requests: storageRequests, traced: trace.length, replied }),
    usage: async ({ gc }) => ({ ...processUsage(gc), storageRequests }),
    storageTrace: async ({ from }) => trace.slice(from),
  };
  return {
    running,
    handlers,
    async stop() {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function processUsage(gc?: boolean): ProcessUsage {
  if (gc) global.gc?.();
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return { cpuMicros: cpu.user + cpu.system, rss: memory.rss, heapUsed: memory.heapUsed };
}

/** What every bot process answers: its CPU and memory, and a CPU profile of itself. */
function processHandlers(): Handlers {
  let profiler: Session | undefined;
  return {
    usage: async ({ gc }) => processUsage(gc),
    profileStart: async () => {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
      return null;
    },
    profileStop: async ({ file }) => {
      if (!profiler) throw new Error('no profile was started');
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      writeFileSync(file, JSON.stringify(profile));
      return null;
    },
  };
}

host(JSON.parse(process.argv[2]) as BotHostSettings).catch((error) => {
  process.stderr.write(`bot host failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
