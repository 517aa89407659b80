import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';

/**
 * Structured, one-line JSON logs through pino. Health data flows through this bot, so callers
 * pass only event names, ids the service generated and counts: never message text, names, NHS
 * numbers, contact details or Teams display names. The type allows scalars only, so a whole
 * record cannot be logged by mistake; pino's redaction is a second guard on the field names
 * that would carry a person's details.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger whose every line also carries these fields. */
  child(fields: LogFields): Logger;
}

/** Field names that would hold a person's details, wherever they appear: logged as "[redacted]". */
const PERSON_FIELDS = ['name', 'givenName', 'familyName', 'displayName', 'dateOfBirth', 'nhsNumber', 'phone', 'email', 'postcode', 'address', 'text', 'note', 'whatMatters'];
const REDACT_PATHS = [...PERSON_FIELDS, ...PERSON_FIELDS.map((field) => `*.${field}`)];

/** Fields every line written during one turn carries (its activity id), whichever layer logs it. */
const turnFields = new AsyncLocalStorage<LogFields>();

/** Runs `work` with `fields` on every log line written while it runs (including nested async work). */
export function withLogFields<T>(fields: LogFields, work: () => Promise<T>): Promise<T> {
  return turnFields.run({ ...turnFields.getStore(), ...fields }, work);
}

export function createLogger(minimum: LogLevel = 'info', write?: (line: string, level: LogLevel) => void): Logger {
  const destination = write
    ? { write: (line: string) => write(line.trimEnd(), (JSON.parse(line) as { level: LogLevel }).level) }
    : pino.multistream([
        { level: 'debug', stream: process.stdout },
        { level: 'warn', stream: process.stderr },
      ], { dedupe: true });
  const root = pino(
    {
      level: minimum,
      base: undefined,
      messageKey: 'event',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // A copy: pino merges each line's fields into what the mixin returns.
      mixin: () => ({ ...turnFields.getStore() }),
    },
    destination,
  );
  return wrap(root);
}

function wrap(target: pino.Logger): Logger {
  return {
    debug: (event, fields = {}) => target.debug(fields, event),
    info: (event, fields = {}) => target.info(fields, event),
    warn: (event, fields = {}) => target.warn(fields, event),
    error: (event, fields = {}) => target.error(fields, event),
    child: (fields) => wrap(target.child(fields)),
  };
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
