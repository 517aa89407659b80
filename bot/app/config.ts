import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_STORAGE_TIMEOUT_MS } from '../../storage/tables';
import { ENTRA_COMMON_JWKS_URL } from '../auth/entraToken';
import { parseHoursRange, parseWorkingDays, WorkingHours } from '../../domain/supervision/workingCalendar';
import { DEFAULT_RETENTION_MONTHS, DEFAULT_UNFINISHED_FORM_DAYS } from '../../domain/referral/retention';

/**
 * Settings come from the environment only (see .env.example). Everything has a safe local
 * default so that `npm start` runs with no settings at all; production refuses to start
 * without the credentials a real Teams deployment needs.
 */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The tenant of the Agents Playground's people (.m365agentsplayground.yml): local mode's default. */
export const AGENTS_PLAYGROUND_TENANT = '3f2b6c1e-8d4a-4b7e-9c15-2a6e0f9d7b31';

/** Host names that reach only this machine. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

/** Microsoft Entra tenant ids, comma-separated, lower-cased. */
const tenantIds = z
  .string()
  .trim()
  .default('')
  .transform((value) => value.split(',').map((tenant) => tenant.trim().toLowerCase()).filter(Boolean))
  .refine((tenants) => tenants.every((tenant) => GUID.test(tenant)), 'expected tenant ids (GUIDs) separated by commas');

const settingsSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3978),
  MicrosoftAppId: z.string().trim().default(''),
  // A secret of only spaces is a secret not set, never a password of spaces.
  MicrosoftAppPassword: z.string().default('').transform((value) => (value.trim() === '' ? '' : value)),
  MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('MultiTenant'),
  MicrosoftAppTenantId: z.string().trim().default(''),
  SIGNPOST_HOST: z.string().trim().default(''),
  SIGNPOST_ALLOWED_TENANTS: tenantIds,
  SIGNPOST_STORAGE_CONNECTION_STRING: z.string().trim().default(''),
  SIGNPOST_STORAGE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(DEFAULT_STORAGE_TIMEOUT_MS),
  SIGNPOST_DATA_DIR: z.string().trim().default(''),
  SIGNPOST_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  SIGNPOST_NEAR_MISS_YEARS: z.coerce.number().int().min(0).max(20).default(5),
  SIGNPOST_VERIFICATION_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** Days after an entry's last check that its maintainers are asked to confirm it. */
  SIGNPOST_DIRECTORY_VERIFY_AFTER_DAYS: z.coerce.number().int().min(1).max(3650).default(60),
  SIGNPOST_SMTP_URL: z
    .string()
    .trim()
    .default('')
    .refine((value) => value === '' || /^smtps?:\/\//.test(value), 'must start with smtp:// or smtps://'),
  SIGNPOST_MAIL_FROM: z.string().trim().default('Signpost <signpost@localhost>'),
  SIGNPOST_ACTIONABLE_MESSAGE_ORIGINATOR: z.string().trim().default(''),
  SIGNPOST_PUBLIC_URL: z
    .string()
    .trim()
    .default('')
    .refine((value) => value === '' || /^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(value), 'expected an http(s) address such as https://signpost.example.nhs.uk')
    .transform((value) => value.replace(/\/+$/, '')),
  SIGNPOST_ENTRA_JWKS_URL: z.string().trim().url().default(ENTRA_COMMON_JWKS_URL),
  SIGNPOST_ACTIONABLE_MESSAGE_AUDIENCE: z.string().trim().default(''),
  SIGNPOST_ACTIONABLE_MESSAGE_TENANTS: tenantIds,
  SIGNPOST_LINK_SECRET: z
    .string()
    .trim()
    .default('')
    .refine((value) => value === '' || value.length >= 32, 'must be at least 32 characters (e.g. openssl rand -base64 48)'),
  SIGNPOST_LINK_EXPIRY_DAYS: z.coerce.number().int().min(1).max(90).default(14),
  SIGNPOST_NOTIFY_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(5_000),
  SIGNPOST_NOTIFY_RETRY_BASE_MS: z.coerce.number().int().min(1).max(600_000).default(2_000),
  SIGNPOST_NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  SIGNPOST_ADMINS: z.string().trim().default(''),
  SIGNPOST_COMMISSIONERS: z.string().trim().default(''),
  SIGNPOST_TAB_AUDIENCE: z.string().trim().default(''),
  SIGNPOST_WORKING_HOURS: z.string().trim().default('09:00-17:00').refine((value) => parseHoursRange(value) !== undefined, 'expected a range such as 09:00-17:00'),
  SIGNPOST_WORKING_DAYS: z.string().trim().default('mon-fri').refine((value) => parseWorkingDays(value) !== undefined, 'expected days such as mon-fri or mon,tue,thu'),
  SIGNPOST_TIME_ZONE: z
    .string()
    .trim()
    .default('Europe/London')
    .refine((value) => {
      try {
        new Intl.DateTimeFormat('en-GB', { timeZone: value });
        return true;
      } catch {
        return false;
      }
    }, 'expected an IANA time zone such as Europe/London'),
  SIGNPOST_HOLIDAYS: z.string().trim().default('GB-ENG'),
  SIGNPOST_SUPERVISION_POLL_MS: z.coerce.number().int().min(50).max(3_600_000).default(60_000),
  SIGNPOST_RETENTION_MONTHS: z.coerce.number().int().min(1).max(1_200).default(DEFAULT_RETENTION_MONTHS),
  SIGNPOST_UNFINISHED_FORM_DAYS: z.coerce.number().int().min(1).max(365).default(DEFAULT_UNFINISHED_FORM_DAYS),
});

export interface SignpostConfig {
  production: boolean;
  port: number;
  /** Local mode: no app id, unauthenticated, for the Agents Playground and tests only. */
  localMode: boolean;
  /** Interface to listen on; '' is every interface. Loopback in local mode. */
  host: string;
  /** Lower-case Microsoft Entra tenant ids whose Teams activities Signpost accepts. */
  allowedTenants: string[];
  auth: {
    MicrosoftAppId: string;
    MicrosoftAppPassword: string;
    MicrosoftAppType: string;
    MicrosoftAppTenantId: string;
  };
  /** Empty: start the embedded Azurite under dataDir. */
  storageConnectionString: string;
  /** How long one storage call may take, retries included, before the turn says storage is down. */
  storageTimeoutMs: number;
  dataDir: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Matching: how far outside an age limit a service is still shown as a near miss. */
  nearMissYears: number;
  /** Directory entries not checked for this long are shown as possibly out of date. */
  verificationMaxAgeDays: number;
  directoryVerifyAfterDays: number;
  mail: { smtpUrl: string; from: string; originator: string };
  /**
   * The address people reach Signpost at from outside (email links, Action.Http targets, the
   * tab). '' until the server listens, which then fills in http://localhost:<port>.
   */
  publicUrl: string;
  /** Where Microsoft Entra ID's signing keys are published (tokens from Outlook and the tab). */
  entraJwksUrl: string;
  /**
   * Email actions: the Actionable Messages provider's App ID URI (the tokens' audience; '' turns
   * the Action.Http endpoint off, links still work), the secret signed links are signed with
   * ('' on the embedded default: one is generated in the data folder), and how long links last.
   */
  email: {
    actionableMessageAudience: string;
    /** Tenants whose people may act from Outlook; empty accepts any (the recipient check still applies). */
    actionableMessageTenants: string[];
    linkSecret: string;
    linkExpiryDays: number;
  };
  notify: { pollMs: number; retryBaseMs: number; maxAttempts: number };
  /** Teams user ids or sign-in emails of people who may see Signpost's operational status. */
  admins: string[];
  /** Sign-in emails of commissioners: they see the borough report (aggregates only) in the tab. */
  commissioners: string[];
  /**
   * The tab's Teams SSO token audience (SIGNPOST_TAB_AUDIENCE); '' means api://<public host>/<MicrosoftAppId>,
   * decided once the public address is known (see tabAudience).
   */
  tabAudience: string;
  /** When reminders go out, and how working days and hours are counted. */
  supervision: { workingHours: WorkingHours; holidays: string; pollMs: number };
  /** Months an ended (closed or declined) referral keeps the person's identifiers before they are removed. */
  retentionMonths: number;
  /** Days a referral form left half-way keeps the person's answers in conversation state. */
  unfinishedFormDays: number;
}

export class ConfigError extends Error {}

/** Folder for runtime data (Azurite files, outgoing mail on the embedded default). */
export function defaultDataDir(): string {
  return path.resolve(process.cwd(), 'data');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SignpostConfig {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid settings: ${problems.join('; ')}`);
  }
  const settings = parsed.data;
  // Case and spaces must not turn production into an unauthenticated local run.
  const production = settings.NODE_ENV?.trim().toLowerCase() === 'production';
  const localMode = settings.MicrosoftAppId === '';

  if (production) {
    const missing: string[] = [];
    if (!settings.MicrosoftAppId) missing.push('MicrosoftAppId');
    if (!settings.MicrosoftAppPassword && settings.MicrosoftAppType !== 'UserAssignedMSI') {
      missing.push('MicrosoftAppPassword');
    }
    if (settings.MicrosoftAppType !== 'MultiTenant' && !settings.MicrosoftAppTenantId) {
      missing.push('MicrosoftAppTenantId');
    }
    if (!settings.SIGNPOST_STORAGE_CONNECTION_STRING) missing.push('SIGNPOST_STORAGE_CONNECTION_STRING');
    if (settings.SIGNPOST_ALLOWED_TENANTS.length === 0) missing.push('SIGNPOST_ALLOWED_TENANTS');
    // Links in email must reach Signpost over TLS, not this machine's loopback.
    if (!settings.SIGNPOST_PUBLIC_URL.startsWith('https://')) missing.push('SIGNPOST_PUBLIC_URL (https)');
    // A generated secret lives on one machine's disk; instances behind a balancer must share one.
    if (!settings.SIGNPOST_LINK_SECRET) missing.push('SIGNPOST_LINK_SECRET');
    if (missing.length > 0) {
      throw new ConfigError(
        `Refusing to start in production without these settings: ${missing.join(', ')}. ` +
          'See .env.example for what each one is.',
      );
    }
  }

  // Real Teams traffic has no safe default tenant: without the list every activity would be refused.
  if (!localMode && settings.SIGNPOST_ALLOWED_TENANTS.length === 0) {
    throw new ConfigError('MicrosoftAppId is set, so Signpost serves real Teams: set SIGNPOST_ALLOWED_TENANTS to the tenant ids it serves.');
  }
  // Local mode answers anyone who can reach it, so only this machine may.
  if (localMode && settings.SIGNPOST_HOST && !LOOPBACK_HOSTS.includes(settings.SIGNPOST_HOST.toLowerCase())) {
    throw new ConfigError(
      `SIGNPOST_HOST=${settings.SIGNPOST_HOST} needs authentication: with MicrosoftAppId empty Signpost is unauthenticated and listens on this machine only.`,
    );
  }

  return {
    production,
    port: settings.PORT,
    localMode,
    host: settings.SIGNPOST_HOST || (localMode ? '127.0.0.1' : ''),
    allowedTenants: settings.SIGNPOST_ALLOWED_TENANTS.length > 0 ? settings.SIGNPOST_ALLOWED_TENANTS : [AGENTS_PLAYGROUND_TENANT],
    auth: {
      MicrosoftAppId: settings.MicrosoftAppId,
      MicrosoftAppPassword: settings.MicrosoftAppPassword,
      MicrosoftAppType: settings.MicrosoftAppType,
      MicrosoftAppTenantId: settings.MicrosoftAppTenantId,
    },
    storageConnectionString: settings.SIGNPOST_STORAGE_CONNECTION_STRING,
    storageTimeoutMs: settings.SIGNPOST_STORAGE_TIMEOUT_MS,
    dataDir: settings.SIGNPOST_DATA_DIR ? path.resolve(settings.SIGNPOST_DATA_DIR) : defaultDataDir(),
    logLevel: settings.SIGNPOST_LOG_LEVEL,
    nearMissYears: settings.SIGNPOST_NEAR_MISS_YEARS,
    verificationMaxAgeDays: settings.SIGNPOST_VERIFICATION_MAX_AGE_DAYS,
    directoryVerifyAfterDays: settings.SIGNPOST_DIRECTORY_VERIFY_AFTER_DAYS,
    mail: {
      smtpUrl: settings.SIGNPOST_SMTP_URL,
      from: settings.SIGNPOST_MAIL_FROM,
      originator: settings.SIGNPOST_ACTIONABLE_MESSAGE_ORIGINATOR,
    },
    publicUrl: settings.SIGNPOST_PUBLIC_URL,
    entraJwksUrl: settings.SIGNPOST_ENTRA_JWKS_URL,
    email: {
      actionableMessageAudience: settings.SIGNPOST_ACTIONABLE_MESSAGE_AUDIENCE,
      actionableMessageTenants: settings.SIGNPOST_ACTIONABLE_MESSAGE_TENANTS,
      linkSecret: settings.SIGNPOST_LINK_SECRET,
      linkExpiryDays: settings.SIGNPOST_LINK_EXPIRY_DAYS,
    },
    admins: settings.SIGNPOST_ADMINS.split(',').map((admin) => admin.trim().toLowerCase()).filter(Boolean),
    commissioners: settings.SIGNPOST_COMMISSIONERS.split(',').map((email) => email.trim().toLowerCase()).filter(Boolean),
    tabAudience: settings.SIGNPOST_TAB_AUDIENCE,
    supervision: {
      workingHours: {
        timeZone: settings.SIGNPOST_TIME_ZONE,
        ...parseHoursRange(settings.SIGNPOST_WORKING_HOURS)!,
        days: parseWorkingDays(settings.SIGNPOST_WORKING_DAYS)!,
      },
      holidays: settings.SIGNPOST_HOLIDAYS,
      pollMs: settings.SIGNPOST_SUPERVISION_POLL_MS,
    },
    retentionMonths: settings.SIGNPOST_RETENTION_MONTHS,
    unfinishedFormDays: settings.SIGNPOST_UNFINISHED_FORM_DAYS,
    notify: {
      pollMs: settings.SIGNPOST_NOTIFY_POLL_MS,
      retryBaseMs: settings.SIGNPOST_NOTIFY_RETRY_BASE_MS,
      maxAttempts: settings.SIGNPOST_NOTIFY_MAX_ATTEMPTS,
    },
  };
}

/**
 * The audience the tab's SSO tokens must carry: SIGNPOST_TAB_AUDIENCE, else the Application ID URI
 * Teams requires for tab SSO, api://<public host>/<MicrosoftAppId> (the manifest's webApplicationInfo.resource).
 */
export function tabAudience(config: Pick<SignpostConfig, 'tabAudience' | 'auth'>, publicUrl: string): string {
  if (config.tabAudience) return config.tabAudience;
  return `api://${new URL(publicUrl).host}/${config.auth.MicrosoftAppId}`;
}
