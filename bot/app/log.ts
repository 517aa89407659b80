/**
 * Structured, one-line JSON logs. Health data flows through this bot, so callers pass only
 * event names, ids the service generated and counts: never message text, names, NHS numbers,
 * contact details or Teams display names.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export function createLogger(
  minimum: LogLevel = 'info',
  write: (line: string, level: LogLevel) => void = defaultWrite,
): Logger {
  const emit = (level: LogLevel) => (event: string, fields: LogFields = {}) => {
    if (ORDER[level] < ORDER[minimum]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }), level);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

function defaultWrite(line: string, level: LogLevel): void {
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);
}

/** What to log about an error: its kind and where it happened, not data it may carry. */
export function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { errorType: typeof error };
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trim().startsWith('at ')).slice(0, 5);
  return {
    errorName: error.name,
    errorCode: (error as { code?: string }).code ?? undefined,
    statusCode: (error as { statusCode?: number }).statusCode ?? undefined,
    errorAt: frames.map((line) => line.trim()).join(' | '),
  };
}
