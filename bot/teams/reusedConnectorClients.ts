import {
  type AuthenticateRequestResult,
  AuthenticationConstants,
  BotFrameworkAuthentication,
  type BotFrameworkClient,
  type ClaimsIdentity,
  type ConnectorClient,
  ConnectorFactory,
  type UserTokenClient,
} from 'botframework-connector';
import type { Activity } from 'botbuilder';

/** Clients kept at most: one per Bot Connector region and bot identity, so a handful in practice. */
const MAX_CLIENTS = 32;

/**
 * The configured Bot Framework authentication, with each Bot Connector client (and user-token
 * client) built once per bot identity and service URL, rather than once per turn as CloudAdapter
 * does. Building one is a whole HTTP pipeline: about a tenth of a plain turn's CPU. A client's
 * credentials fetch and refresh their tokens themselves, so reusing it is what botbuilder's
 * older BotFrameworkAdapter did too. Authentication of incoming requests is untouched.
 */
export class ReusedConnectorClients extends BotFrameworkAuthentication {
  private readonly connectorClients = new Map<string, Promise<ConnectorClient>>();
  private readonly userTokenClients = new Map<string, Promise<UserTokenClient>>();

  constructor(private readonly inner: BotFrameworkAuthentication) {
    super();
  }

  authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    return this.inner.authenticateRequest(activity, authHeader).then((result) => ({
      ...result,
      connectorFactory: result.connectorFactory && this.reusing(result.connectorFactory, result.claimsIdentity),
    }));
  }

  authenticateStreamingRequest(authHeader: string, channelIdHeader: string): Promise<AuthenticateRequestResult> {
    return this.inner.authenticateStreamingRequest(authHeader, channelIdHeader).then((result) => ({
      ...result,
      connectorFactory: result.connectorFactory && this.reusing(result.connectorFactory, result.claimsIdentity),
    }));
  }

  createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.reusing(this.inner.createConnectorFactory(claimsIdentity), claimsIdentity);
  }

  createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return remembered(this.userTokenClients, identityOf(claimsIdentity), () => this.inner.createUserTokenClient(claimsIdentity));
  }

  override createBotFrameworkClient(): BotFrameworkClient {
    return this.inner.createBotFrameworkClient();
  }

  override getOriginatingAudience(): string {
    return this.inner.getOriginatingAudience();
  }

  override authenticateChannelRequest(authHeader: string): Promise<ClaimsIdentity> {
    return this.inner.authenticateChannelRequest(authHeader);
  }

  private reusing(factory: ConnectorFactory, claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return new ReusingConnectorFactory(factory, identityOf(claimsIdentity), this.connectorClients);
  }
}

/** One turn's connector factory, handing out the clients already built for its identity. */
class ReusingConnectorFactory extends ConnectorFactory {
  constructor(
    private readonly inner: ConnectorFactory,
    private readonly identity: string,
    private readonly clients: Map<string, Promise<ConnectorClient>>,
  ) {
    super();
  }

  create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
    return remembered(this.clients, `${this.identity}\n${serviceUrl}\n${audience ?? ''}`, () => this.inner.create(serviceUrl, audience));
  }
}

/**
 * Whose credentials the clients carry: the app id botbuilder builds them for, which is the
 * token's audience (this bot, for a request from a channel) or else its app id claim; not the
 * caller's app id, which is the same Bot Framework app for every channel's request. Empty when
 * unauthenticated, as in local mode.
 */
function identityOf(claimsIdentity: ClaimsIdentity): string {
  const appId = claimsIdentity.getClaimValue(AuthenticationConstants.AudienceClaim) ?? claimsIdentity.getClaimValue(AuthenticationConstants.AppIdClaim) ?? '';
  return `${claimsIdentity.isAuthenticated ? 'authenticated' : 'anonymous'}\n${appId}`;
}

/** The value made for this key, made once; a failure is forgotten so the next turn tries again. */
function remembered<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  const known = cache.get(key);
  if (known) return known;
  if (cache.size >= MAX_CLIENTS) cache.delete(cache.keys().next().value!);
  const made = make();
  cache.set(key, made);
  made.catch(() => cache.delete(key));
  return made;
}
