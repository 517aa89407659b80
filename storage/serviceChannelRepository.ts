import { odata, TableClient } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import { movedTo } from './conversationReference';

/**
 * Which Teams channel serves which directory service. One channel per service and one service
 * per channel: both directions are rows in one partition, so a link or unlink commits both
 * rows in a single transaction and two people linking at once cannot both win.
 */
export interface ServiceChannel {
  serviceId: string;
  channelId: string;
  teamId: string;
  /** Plain-JSON conversation reference to the channel, for posting referrals into it. */
  conversation: Record<string, unknown>;
  linkedBy: { id: string; name?: string };
  linkedAt: string;
}

export type LinkResult =
  | { ok: true; link: ServiceChannel }
  | { ok: false; reason: 'service-already-linked'; existing: ServiceChannel }
  | { ok: false; reason: 'channel-already-linked'; existing: ServiceChannel };

type LinkEntity = { partitionKey: string; rowKey: string; body: string };

const PARTITION = 'link';
const serviceRow = (serviceId: string) => `service|${serviceId}`;
const channelRow = (channelId: string) => `channel|${encodeURIComponent(channelId)}`;

/**
 * Links are read on every card click (who may act, where the card lives) and change rarely, so
 * reads are cached for a few seconds. A link or unlink through this process clears the cache at
 * once; one made by another instance is seen within this time. Link and unlink decide on fresh
 * reads, never cached ones.
 */
const CACHE_MS = 5_000;

export class ServiceChannelRepository {
  private readonly client: Promise<TableClient>;
  private readonly cache = new Map<string, { link: Promise<ServiceChannel | undefined>; until: number }>();

  constructor(tables: TableConnection, tableName = 'servicechannels') {
    this.client = tables.table(tableName);
  }

  async forService(serviceId: string): Promise<ServiceChannel | undefined> {
    return this.cached(serviceRow(serviceId));
  }

  async forChannel(channelId: string): Promise<ServiceChannel | undefined> {
    return this.cached(channelRow(channelId));
  }

  async link(link: ServiceChannel): Promise<LinkResult> {
    this.cache.clear();
    const existingChannel = await this.read(channelRow(link.channelId));
    if (existingChannel && existingChannel.serviceId !== link.serviceId) {
      return { ok: false, reason: 'channel-already-linked', existing: existingChannel };
    }
    const existingService = await this.read(serviceRow(link.serviceId));
    if (existingService && existingService.channelId !== link.channelId) {
      return { ok: false, reason: 'service-already-linked', existing: existingService };
    }
    if (existingService) {
      // Linking again is how a channel's link catches up with Teams' current serviceUrl.
      const serviceUrl = link.conversation.serviceUrl;
      return { ok: true, link: (typeof serviceUrl === 'string' && (await this.refreshServiceUrl(link.channelId, serviceUrl))) || existingService };
    }
    const body = JSON.stringify(link);
    try {
      await (await this.client).submitTransaction([
        ['create', { partitionKey: PARTITION, rowKey: serviceRow(link.serviceId), body }],
        ['create', { partitionKey: PARTITION, rowKey: channelRow(link.channelId), body }],
      ]);
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      // Someone linked the service or the channel a moment ago: report what they did.
      return this.link(link);
    }
    this.cache.clear();
    return { ok: true, link };
  }

  /**
   * Teams moved the channel to another serviceUrl: the link follows, so referrals still reach
   * it. Returns the link as stored now (undefined when the channel serves no service).
   */
  async refreshServiceUrl(channelId: string, serviceUrl: string): Promise<ServiceChannel | undefined> {
    this.cache.clear();
    const channel = await this.readRow(channelRow(channelId));
    const conversation = channel && movedTo(channel.link.conversation, channelId, serviceUrl);
    if (!channel || !conversation) return channel?.link;
    const service = await this.readRow(serviceRow(channel.link.serviceId));
    if (service?.link.channelId !== channelId) return channel.link;
    const moved: ServiceChannel = { ...channel.link, conversation };
    const body = JSON.stringify(moved);
    try {
      // Both rows with their eTags: an unlink or relink meanwhile wins, and nothing is revived.
      await (await this.client).submitTransaction([
        ['update', { partitionKey: PARTITION, rowKey: serviceRow(moved.serviceId), body }, 'Replace', { etag: service.etag }],
        ['update', { partitionKey: PARTITION, rowKey: channelRow(channelId), body }, 'Replace', { etag: channel.etag }],
      ]);
    } catch (error) {
      if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
      return this.read(channelRow(channelId));
    }
    this.cache.clear();
    return moved;
  }

  /** Removes the channel's link; returns what it served, if anything. */
  async unlink(channelId: string): Promise<ServiceChannel | undefined> {
    this.cache.clear();
    const existing = await this.read(channelRow(channelId));
    if (!existing) return undefined;
    try {
      await (await this.client).submitTransaction([
        ['delete', { partitionKey: PARTITION, rowKey: serviceRow(existing.serviceId) }],
        ['delete', { partitionKey: PARTITION, rowKey: channelRow(channelId) }],
      ]);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    this.cache.clear();
    return existing;
  }

  async list(): Promise<ServiceChannel[]> {
    const links: ServiceChannel[] = [];
    for await (const row of (await this.client).listEntities<LinkEntity>({
      queryOptions: { filter: odata`PartitionKey eq ${PARTITION} and RowKey ge 'service|' and RowKey lt 'service}'` },
    })) {
      links.push(JSON.parse(row.body));
    }
    return links;
  }

  /**
   * The read under way is shared: when the cached link expires under a burst of clicks (twenty
   * link workers at once), one read answers them all rather than one read each.
   */
  private cached(rowKey: string): Promise<ServiceChannel | undefined> {
    const hit = this.cache.get(rowKey);
    if (hit && hit.until > Date.now()) return hit.link;
    const link = this.read(rowKey);
    const entry = { link, until: Number.POSITIVE_INFINITY };
    this.cache.set(rowKey, entry);
    // Kept for CACHE_MS from when it answered; a failed read is not kept, so the next asks again.
    link.then(
      () => (entry.until = Date.now() + CACHE_MS),
      () => this.cache.get(rowKey) === entry && this.cache.delete(rowKey),
    );
    return link;
  }

  private async read(rowKey: string): Promise<ServiceChannel | undefined> {
    return (await this.readRow(rowKey))?.link;
  }

  private async readRow(rowKey: string): Promise<{ link: ServiceChannel; etag: string } | undefined> {
    try {
      const row = await (await this.client).getEntity<LinkEntity>(PARTITION, rowKey);
      return { link: JSON.parse(row.body) as ServiceChannel, etag: row.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}

