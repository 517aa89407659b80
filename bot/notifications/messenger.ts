/**
 * How Signpost talks to people in a chat product, without naming one: the Teams implementation
 * is bot/teams/teamsMessenger.ts. Conversation references and cards are plain JSON (what
 * storage keeps), so nothing outside bot/teams holds Bot Framework types.
 */

export type ConversationRef = Record<string, unknown>;
export type Card = Record<string, unknown>;

export interface RosterMember {
  id: string;
  name: string;
  email?: string;
  /** Their Microsoft Entra object id, lower case: how a person signed in to the tab is found in the roster. */
  aadObjectId?: string;
  /** 'owner' when Teams says so (it often does not). */
  role?: string;
}

export interface Messenger {
  /** Posts a card; returns the new message's id (empty when the channel gives none). */
  send(conversation: ConversationRef, card: Card): Promise<string>;
  /** Replaces a card already posted. */
  update(conversation: ConversationRef, messageId: string, card: Card): Promise<void>;
  /**
   * Sends in someone's 1:1 chat with Signpost, creating it through `via` (any conversation in
   * their tenant) when none is known. Returns the new chat's reference, or undefined if it existed.
   */
  sendPersonal(member: { id: string; name: string }, known: ConversationRef | undefined, via: ConversationRef | undefined, card: Card): Promise<ConversationRef | undefined>;
  /** Everyone in the conversation's team (or chat). */
  members(conversation: ConversationRef): Promise<RosterMember[]>;
  /** One person in the conversation's team, or undefined when they are not a member. */
  member(conversation: ConversationRef, userId: string): Promise<RosterMember | undefined>;
}

/**
 * Why a delivery failed, in the terms the dispatcher acts on:
 *   unreachable: the person or channel cannot be reached this way (bot removed, no chat yet);
 *   throttled:   the service asked us to slow down; retry later;
 *   rejected:    the message itself was refused (e.g. a permanent SMTP 5xx); retrying will not help;
 *   transient:   anything else that may work next time (network, 5xx, time-out).
 */
export type DeliveryErrorCode = 'unreachable' | 'throttled' | 'rejected' | 'transient';

export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
    /** The status the remote service answered with, when it answered. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Classifies an error from an HTTP-based channel (the Bot Connector) by its status code. */
  static fromHttp(error: unknown, what: string): DeliveryError {
    if (error instanceof DeliveryError) return error;
    const status = (error as { statusCode?: number })?.statusCode;
    if (status === 401 || status === 403 || status === 404) return new DeliveryError('unreachable', `${what}: not reachable (${status})`, status, { cause: error });
    if (status === 429) return new DeliveryError('throttled', `${what}: throttled`, status, { cause: error });
    if (status !== undefined && status >= 400 && status < 500) return new DeliveryError('rejected', `${what}: refused (${status})`, status, { cause: error });
    return new DeliveryError('transient', `${what}: ${status ? `failed (${status})` : (error as Error)?.name ?? 'failed'}`, status, { cause: error });
  }

  /** Classifies an SMTP error: a permanent 5xx answer is final; everything else may pass later. */
  static fromSmtp(error: unknown): DeliveryError {
    if (error instanceof DeliveryError) return error;
    const code = (error as { responseCode?: number })?.responseCode;
    if (code !== undefined && code >= 500 && code < 600) return new DeliveryError('rejected', `SMTP refused the message (${code})`, code, { cause: error });
    return new DeliveryError('transient', `SMTP: ${code ? `answered ${code}` : (error as { code?: string })?.code ?? (error as Error)?.name ?? 'failed'}`, code, { cause: error });
  }
}
