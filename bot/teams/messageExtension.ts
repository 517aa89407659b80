import { z } from 'zod';
import type { MessagingExtensionActionResponse, MessagingExtensionResponse } from 'botbuilder';
import { parseSearchQuery, searchDirectory } from '../../domain/directory/search';
import type { DirectoryService } from '../../domain/directory/schema';
import { serviceCard, servicePreview } from '../../cards/serviceCard';
import { ADAPTIVE_CARD_CONTENT_TYPE } from '../../cards/render';

/**
 * The message extension: search the directory from the compose box, and "Refer to social
 * prescribing" from a message's menu or the compose box. Every payload is parsed by a schema
 * here; a query Signpost cannot use gets a sentence, never an error.
 */

/** Command ids, as in the manifest's composeExtensions. */
export const SEARCH_COMMAND = 'searchServices';
export const REFER_COMMAND = 'referPrivately';
/** The Universal Action of the service card's "Refer someone" button. */
export const REFER_TO_SERVICE_VERB = 'refer-to-service';

/** Teams pages results 25 at a time at most. */
const PAGE_LIMIT = 25;

const queryPayload = z.object({
  commandId: z.string().max(64),
  parameters: z.array(z.object({ name: z.string().max(64), value: z.unknown() })).max(10).optional(),
  queryOptions: z.object({ skip: z.coerce.number().int().min(0).max(10_000).optional(), count: z.coerce.number().int().min(1).max(100).optional() }).partial().optional(),
});

const actionPayload = z.object({
  commandId: z.literal(REFER_COMMAND),
  /** Where it was chosen ('message', 'compose', 'commandbox'): it changes nothing, so any short word is accepted. Nothing of the message is read. */
  commandContext: z.string().max(40).optional(),
});

const referToServiceData = z.object({ serviceId: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/).max(80) });

export const SEARCH_HINT = 'Type what the person needs or who they are, such as dementia, isolated or over 60 discharge King\'s, or part of a service\'s name.';

function messageResult(text: string): MessagingExtensionResponse {
  return { composeExtension: { type: 'message', text } };
}

export interface SearchContext {
  services: readonly DirectoryService[];
  now: Date;
  verificationMaxAgeDays: number;
}

/** The answer to a compose box search: service cards with previews, or a sentence saying why there are none. */
export function searchAnswer(payload: unknown, context: SearchContext): MessagingExtensionResponse {
  const parsed = queryPayload.safeParse(payload);
  if (!parsed.success || parsed.data.commandId !== SEARCH_COMMAND) return messageResult('Signpost cannot run that search. Search the directory from Signpost in the compose box.');
  const typed = parsed.data.parameters?.find((parameter) => parameter.name === 'query')?.value;
  const query = parseSearchQuery(typed);
  switch (query.kind) {
    case 'empty':
      return messageResult(SEARCH_HINT);
    case 'too-long':
      return messageResult('That search is too long. Use a few words, such as dementia or isolated.');
    case 'no-words':
      return messageResult(`There is nothing to search for in that. ${SEARCH_HINT}`);
  }
  const skip = parsed.data.queryOptions?.skip ?? 0;
  const count = Math.min(parsed.data.queryOptions?.count ?? PAGE_LIMIT, PAGE_LIMIT);
  const hits = searchDirectory(context.services, query, { now: context.now, verificationMaxAgeDays: context.verificationMaxAgeDays, limit: skip + count });
  if (hits.length === 0) return messageResult(skip > 0 ? 'There are no more services matching that.' : `No service in the directory matches that. ${SEARCH_HINT}`);
  return {
    composeExtension: {
      type: 'result',
      attachmentLayout: 'list',
      attachments: hits.slice(skip, skip + count).map((hit) => ({
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        content: serviceCard(hit),
        preview: { contentType: 'application/vnd.microsoft.card.thumbnail', content: servicePreview(hit) },
      })),
    },
  };
}

/** Whether an action payload is "Refer to social prescribing". */
export function isReferAction(payload: unknown): boolean {
  return actionPayload.safeParse(payload).success;
}

/** The answer to the action command: a sentence in Teams' small message box. */
export function actionAnswer(text: string): MessagingExtensionActionResponse {
  return { task: { type: 'message', value: text } };
}

/** The service a "Refer someone" click names, or undefined when the data is not a service card's. */
export function referToServiceTarget(data: unknown): string | undefined {
  const parsed = referToServiceData.safeParse(data);
  return parsed.success ? parsed.data.serviceId : undefined;
}
