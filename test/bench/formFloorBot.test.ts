import { expect } from 'chai';
import { startFormFloorBot } from '../../bench/formFloorBot';
import { activityFrom, LoopbackConnector, post } from '../../bench/support/loopback';
import { startAzurite } from '../../storage/azurite';

/**
 * The turn benchmark's form floor stands for the least a durable form step costs: it is only a
 * fair yardstick if it does what such a step must (validate, keep, write, answer) and no more.
 */
describe('The form-floor bot (turn benchmark)', () => {
  it('answers each click with the next card, writing its state once, and changes nothing on a stale or invalid click', async function () {
    this.timeout(60_000);
    const connector = await LoopbackConnector.start();
    const azurite = await startAzurite();
    const requests: string[] = [];
    const floor = await startFormFloorBot(azurite.connectionString, ({ method, url }) => requests.push(`${method} ${new URL(url).pathname}`));
    const who = { from: { id: '29:floor', name: 'Floor' }, conversation: { id: 'a:floor', conversationType: 'personal' } };
    const click = async (data: Record<string, unknown>) => {
      const { status, body } = await post(floor.url, activityFrom(connector, { ...who, type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'floorStep', data } } }));
      expect(status).to.equal(200);
      const answer = JSON.parse(body) as { type: string; value: { body: Array<{ text?: string }>; actions: Array<{ data: { token: string } }> } };
      expect(answer.type).to.equal('application/vnd.microsoft.card.adaptive');
      return { text: answer.value.body[0].text, token: answer.value.actions[0].data.token };
    };
    try {
      const first = await click({});
      expect(first.text).to.equal('Answers so far: 0');

      const written = requests.length;
      const second = await click({ token: first.token, answer: 'Company at lunchtime' });
      expect(second.text).to.equal('Answers so far: 1');
      expect(second.token).to.not.equal(first.token);
      // One request: the state is this process's copy, written with its eTag.
      expect(requests.slice(written)).to.have.length(1);
      expect(requests.slice(written)[0]).to.match(/^PUT .*floorstate/);

      const beforeRefused = requests.length;
      expect((await click({ token: first.token, answer: 'Again' })).text).to.equal('Please use the most recent card.');
      expect((await click({ token: second.token, answer: '' })).text).to.equal('Please use the most recent card.');
      expect(requests.length).to.equal(beforeRefused);

      const third = await click({ token: second.token, answer: 'A walk on Fridays' });
      expect(third.text).to.equal('Answers so far: 2');
    } finally {
      await floor.stop();
      await azurite.stop();
      await connector.stop();
    }
  });
});
