import type { TurnContext } from 'botbuilder';
import { LOOPBACK_HOSTS, SignpostConfig } from '../app/config';
import { channelOf, conversationType } from './places';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { ReferrerRepository } from '../../storage/referrerRepository';
import type { ContactRepository } from '../../storage/contactRepository';
import type { Logger } from '../app/log';

/**
 * What the HTTP endpoint checks before the Bot Framework sees a request, and what it keeps up
 * to date after an activity is authenticated. Refusals say why in the log, never who.
 */

export interface Refusal {
  status: 401 | 403;
  reason: 'token-malformed' | 'service-url-not-local' | 'tenant-not-allowed';
  message: string;
  /** The tenant refused, for whoever sets SIGNPOST_ALLOWED_TENANTS (an organisation, not a person). */
  tenantId?: string;
}

/** The token algorithms the Bot Framework signs with (AuthenticationConstants.AllowedSigningAlgorithms). */
const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

/**
 * Decides on the parsed body before authentication, so a request that can never be served
 * changes nothing and costs no key lookup. undefined: let the Bot Framework decide.
 */
export function refuse(config: Pick<SignpostConfig, 'localMode' | 'allowedTenants'>, body: unknown, authorization: string | undefined): Refusal | undefined {
  // A token that is not a signed JWT would otherwise send the SDK to fetch signing keys and
  // answer 500 when that fails: it is simply not authenticated.
  if (!config.localMode && !isSignedJwt(authorization)) {
    return { status: 401, reason: 'token-malformed', message: 'Unauthorized.' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const activity = body as { serviceUrl?: unknown; channelData?: { tenant?: { id?: unknown } }; conversation?: { tenantId?: unknown } };
  // Unauthenticated, Signpost must not be made to call (and send referrals to) another machine.
  if (config.localMode && !isLoopbackUrl(activity.serviceUrl)) {
    return { status: 403, reason: 'service-url-not-local', message: 'Local mode answers only a connector on this machine.' };
  }
  // Teams names the tenant on every activity; every place that names one must name one Signpost serves.
  const tenants = [activity.channelData?.tenant?.id, activity.conversation?.tenantId].filter((tenant) => tenant !== undefined && tenant !== null);
  const stranger = tenants.find((tenant) => typeof tenant !== 'string' || !config.allowedTenants.includes(tenant.trim().toLowerCase()));
  if (tenants.length === 0 || stranger !== undefined) {
    return {
      status: 403,
      reason: 'tenant-not-allowed',
      message: 'Signpost does not serve this organisation.',
      tenantId: typeof stranger === 'string' ? stranger.slice(0, 64) : undefined,
    };
  }
  return undefined;
}

export function isLoopbackUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    // URL keeps IPv6 hosts in brackets ([::1]).
    return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.includes(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  } catch {
    return false;
  }
}

function isSignedJwt(authorization: string | undefined): boolean {
  const match = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(authorization?.trim() ?? '');
  if (!match) return false;
  try {
    const header = JSON.parse(Buffer.from(match[1], 'base64url').toString('utf8')) as { alg?: unknown; kid?: unknown };
    return SIGNING_ALGORITHMS.includes(String(header.alg)) && typeof header.kid === 'string' && header.kid !== '';
  } catch {
    return false;
  }
}

export interface StoredConversations {
  channelLinks: ServiceChannelRepository;
  referrers: ReferrerRepository;
  contacts: ContactRepository;
}

/**
 * Teams may move a conversation to another serviceUrl; replies and proactive messages must
 * follow it. Runs only on authenticated activities (inside the adapter's turn). Each
 * conversation, person and serviceUrl is looked up once per process, so steady traffic costs
 * no storage reads.
 */
export class ServiceUrlRefresher {
  private readonly seen = new Set<string>();

  constructor(
    private readonly stored: StoredConversations,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  async refresh(context: TurnContext): Promise<void> {
    const { serviceUrl, conversation, from } = context.activity;
    if (!serviceUrl || !conversation?.id) return;
    const key = `${serviceUrl}|${conversation.id}|${from?.id ?? ''}`;
    if (this.seen.has(key)) return;
    try {
      const channel = channelOf(context);
      if (channel) await this.stored.channelLinks.refreshServiceUrl(channel.channelId, serviceUrl);
      if (from?.id) {
        await this.stored.referrers.refreshServiceUrl(from.id, conversation.id, serviceUrl);
        if (conversationType(context) === 'personal') {
          await this.stored.contacts.refreshServiceUrl(from.id, conversation.id, serviceUrl, this.now().toISOString());
        }
      }
      // Bounded: a long-running process forgets and at worst looks again.
      if (this.seen.size >= 10_000) this.seen.clear();
      this.seen.add(key);
    } catch (error) {
      // The turn still runs; the next activity in this conversation tries again.
      this.logger.warn('service-url-not-refreshed', { errorName: (error as Error).name });
    }
  }
}
