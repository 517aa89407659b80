import { expect } from 'chai';
import sinon from 'sinon';
import { ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { ClaimsIdentity } from 'botframework-connector';
import { ReusedConnectorClients } from '../../bot/teams/reusedConnectorClients';

describe('Bot Connector clients, built once per bot identity and service URL', () => {
  const anonymous = new ClaimsIdentity([], true);
  const appCalling = new ClaimsIdentity([{ type: 'appid', value: 'another-app' }, { type: 'ver', value: '1.0' }], true);
  /** A channel's request: the caller is the Bot Framework's app, the audience the bot it is for, whose credentials the clients carry. */
  const fromChannelTo = (bot: string) => new ClaimsIdentity([{ type: 'aud', value: bot }, { type: 'appid', value: 'bot-framework' }, { type: 'ver', value: '1.0' }], true);

  it('hands every turn the same client for the same service URL, and a new one for another URL or caller', async () => {
    const inner = new ConfigurationBotFrameworkAuthentication({});
    const create = sinon.spy(inner, 'createConnectorFactory');
    const auth = new ReusedConnectorClients(inner);
    const first = await auth.createConnectorFactory(anonymous).create('https://smba.example/emea/', undefined);
    const again = await auth.createConnectorFactory(anonymous).create('https://smba.example/emea/', undefined);
    const otherRegion = await auth.createConnectorFactory(anonymous).create('https://smba.example/amer/', undefined);
    const otherCaller = await auth.createConnectorFactory(appCalling).create('https://smba.example/emea/', undefined);
    expect(again).to.equal(first);
    expect(otherRegion).not.to.equal(first);
    expect(otherCaller).not.to.equal(first);
    expect(first.conversations).to.be.an('object');
    expect(create.callCount).to.equal(4); // factories are cheap and still made per turn; the clients are not
  });

  it('keys the clients by the bot a channel\'s request is for, not by the channel that sent it', async () => {
    const auth = new ReusedConnectorClients(new ConfigurationBotFrameworkAuthentication({}));
    const forBot = (claims: ClaimsIdentity) => auth.createConnectorFactory(claims).create('https://smba.example/emea/');
    expect(await forBot(fromChannelTo('bot-a'))).to.equal(await forBot(fromChannelTo('bot-a')));
    expect(await forBot(fromChannelTo('bot-b'))).not.to.equal(await forBot(fromChannelTo('bot-a')));
    expect(await auth.createUserTokenClient(fromChannelTo('bot-b'))).not.to.equal(await auth.createUserTokenClient(fromChannelTo('bot-a')));
  });

  it('reuses the user-token client per caller', async () => {
    const auth = new ReusedConnectorClients(new ConfigurationBotFrameworkAuthentication({}));
    expect(await auth.createUserTokenClient(anonymous)).to.equal(await auth.createUserTokenClient(anonymous));
  });

  it('forgets a client that could not be built, so the next turn tries again', async () => {
    const inner = new ConfigurationBotFrameworkAuthentication({});
    const auth = new ReusedConnectorClients(inner);
    const factory = inner.createConnectorFactory(anonymous);
    const build = sinon.stub(factory, 'create').onFirstCall().rejects(new Error('credentials unavailable')).callThrough();
    sinon.stub(inner, 'createConnectorFactory').returns(factory);
    await auth.createConnectorFactory(anonymous).create('https://smba.example/emea/').then(
      () => expect.fail('expected the first build to fail'),
      (error: Error) => expect(error.message).to.equal('credentials unavailable'),
    );
    const client = await auth.createConnectorFactory(anonymous).create('https://smba.example/emea/');
    expect(client.conversations).to.be.an('object');
    expect(build.callCount).to.equal(2);
  });

  afterEach(() => sinon.restore());
});
