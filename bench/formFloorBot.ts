import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as restify from 'restify';
import { z } from 'zod';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, ConversationState, type Storage, type StoreItems, type TurnContext } from 'botbuilder';
import { Dialog, DialogContext, DialogSet, type DialogState, type DialogTurnResult } from 'botbuilder-dialogs';
import { TableConnection, type RequestObserver } from '../storage/tables';
import { TableStateStore } from '../storage/tableStateStore';
import { DIALOG_STATE_CONFIGURATION } from '../bot/teams/signpostBot';

/**
 * The second yardstick for the turn benchmark: the least a durable form step costs on
 * Signpost's stack, so that what Signpost's step costs can be split into what any such step
 * must pay and what Signpost adds.
 *
 * Each click on its card (a Universal Action, as Signpost's form is clicked) is checked against
 * the card's one-time token, validated with zod, kept in botbuilder-dialogs' state and written to
 * Table storage with its eTag through Signpost's own TableStateStore (one request: the state is
 * read from this process's copy, as Signpost's form is when its copy is current), then answered
 * with the next card. Nothing else: no referral, no directory, no audit trail, no outbox.
 */

/** The verb of the form floor's button. */
export const FLOOR_STEP_VERB = 'floorStep';
const ANSWER = Symbol('floorAnswer');
const ANSWERS_KEPT = 8;

const submission = z.object({ token: z.string().uuid(), answer: z.string().trim().min(1).max(200) });

interface FloorStepState {
  token: string;
  answers: string[];
}

/** A form that asks one question again and again, keeping the last few answers. */
class FloorStep extends Dialog {
  constructor() {
    super(FLOOR_STEP_VERB);
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const state: FloorStepState = { token: randomUUID(), answers: [] };
    dc.activeDialog!.state.form = state;
    answerWith(dc.context, state, undefined);
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const state = dc.activeDialog!.state.form as FloorStepState;
    const parsed = submission.safeParse((dc.context.activity.value as { action?: { data?: unknown } })?.action?.data);
    if (!parsed.success || parsed.data.token !== state.token) {
      answerWith(dc.context, state, 'Please use the most recent card.');
      return Dialog.EndOfTurn;
    }
    state.answers = [...state.answers, parsed.data.answer].slice(-ANSWERS_KEPT);
    state.token = randomUUID();
    answerWith(dc.context, state, undefined);
    return Dialog.EndOfTurn;
  }
}

function answerWith(context: TurnContext, state: FloorStepState, notice: string | undefined): void {
  context.turnState.set(ANSWER, {
    type: 'AdaptiveCard',
    version: '1.5',
    body: [
      { type: 'TextBlock', text: notice ?? `Answers so far: ${state.answers.length}`, wrap: true },
      { type: 'Input.Text', id: 'answer', label: 'Your answer', isRequired: true, maxLength: 200 },
    ],
    actions: [{ type: 'Action.Execute', title: 'Next', verb: FLOOR_STEP_VERB, data: { token: state.token } }],
  });
}

/**
 * Bot state written through to Table storage, read from this process's copy when it has one
 * (as JSON, so no turn can change the copy through the object it was handed), each write
 * checked against the eTag of the version the copy holds.
 */
class WriteThroughState implements Storage {
  private readonly copies = new Map<string, { json: string; eTag: string }>();

  constructor(private readonly store: TableStateStore) {}

  async read(keys: string[]): Promise<StoreItems> {
    const items: StoreItems = {};
    const missing = keys.filter((key) => !this.copies.has(key));
    const stored = missing.length ? await this.store.read(missing) : {};
    for (const key of keys) {
      const copy = this.copies.get(key);
      if (copy) items[key] = { ...JSON.parse(copy.json), eTag: copy.eTag };
      else if (stored[key]) items[key] = stored[key];
    }
    return items;
  }

  async write(changes: StoreItems): Promise<void> {
    await Promise.all(
      Object.entries(changes).map(async ([key, item]) => {
        const { eTag: _given, ...value } = item as Record<string, unknown>;
        const eTag = this.copies.get(key)?.eTag ?? '*';
        let written: string | undefined;
        try {
          written = (await this.store.writeItems({ [key]: { ...value, eTag } }))[key];
        } catch (error) {
          // Refused (another writer's version) or failed: the next read goes to storage.
          this.copies.delete(key);
          throw error;
        }
        if (written) this.copies.set(key, { json: JSON.stringify(value), eTag: written });
        else this.copies.delete(key);
      }),
    );
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.copies.delete(key);
    await this.store.delete(keys);
  }
}

/** `observe` sees each storage request, as Signpost's does in the bench. */
export async function startFormFloorBot(connectionString: string, observe?: RequestObserver): Promise<{ url: string; stop(): Promise<void> }> {
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const conversationState = new ConversationState(new WriteThroughState(new TableStateStore(new TableConnection(connectionString, { observe }), 'floorstate')));
  const dialogs = new DialogSet(conversationState.createProperty<DialogState>('dialogState')).add(new FloorStep());
  let dialogStateConfiguration: unknown;
  const server = restify.createServer({ name: 'form-floor-bot' });
  server.use(restify.plugins.bodyParser({ maxBodySize: 256 * 1024 }));
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, async (context) => {
      if (context.activity.type !== 'invoke' || context.activity.name !== 'adaptiveCard/action') return;
      if (dialogStateConfiguration) context.turnState.set(DIALOG_STATE_CONFIGURATION, dialogStateConfiguration);
      const dc = await dialogs.createContext(context);
      if (dc.activeDialog) await dc.continueDialog();
      else await dc.beginDialog(FLOOR_STEP_VERB);
      dialogStateConfiguration ??= context.turnState.get(DIALOG_STATE_CONFIGURATION);
      // Durable before the person sees the next card, as Signpost's form is.
      await conversationState.saveChanges(context, false);
      await context.sendActivity({ type: 'invokeResponse', value: { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: context.turnState.get(ANSWER) } } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
