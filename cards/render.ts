import * as ACData from 'adaptivecards-templating';

/** The Adaptive Card version every Teams client renders (desktop, web and mobile). */
export const MAX_CARD_VERSION = '1.5';
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

export interface AdaptiveCardAttachment {
  contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE;
  content: Record<string, unknown>;
}

/**
 * Fills a JSON card template with data. Templates live beside this file as plain JSON so
 * they can be previewed in the Adaptive Cards designer; all text from users goes in as data,
 * never concatenated into the template, so it cannot inject card elements.
 */
export function renderCard(template: object, data: object): Record<string, unknown> {
  return prepared(template).expand({ $root: data }) as Record<string, unknown>;
}

/**
 * Each template parsed once per process. A Template parses every `${...}` expression when it is
 * made (the costly part: adaptive-expressions' ANTLR parser) and only evaluates them on expand,
 * so keeping it makes a render a walk over prepared expressions. Expanding is synchronous, so
 * one instance serves every turn.
 */
const preparedTemplates = new WeakMap<object, ACData.Template>();

function prepared(template: object): ACData.Template {
  let found = preparedTemplates.get(template);
  if (!found) {
    found = new ACData.Template(template);
    preparedTemplates.set(template, found);
  }
  return found;
}

/**
 * Parses templates now rather than at their first render: Signpost parses every card template
 * as it starts, so the first people to use a fresh instance do not wait for it (the largest
 * template takes several milliseconds, more while the code is still cold).
 */
export function prepareTemplates(templates: Iterable<object>): void {
  for (const template of templates) prepared(template);
}

export function asAttachment(card: Record<string, unknown>): AdaptiveCardAttachment {
  return { contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card };
}

/** Teams refreshes a card automatically for at most this many listed users; others refresh it by hand. */
export const MAX_REFRESH_USERS = 60;

/**
 * A card that Teams asks Signpost to redraw for each listed person as they see it (Universal
 * Actions `refresh`): the `verb` invoke answers with that person's own view. Teams shows its
 * title on a manual refresh.
 */
export function withRefresh(card: Record<string, unknown>, refresh: { verb: string; title: string; data: Record<string, string | number>; userIds: string[] }): Record<string, unknown> {
  return {
    ...card,
    refresh: {
      action: { type: 'Action.Execute', title: refresh.title, verb: refresh.verb, data: refresh.data },
      userIds: refresh.userIds.slice(0, MAX_REFRESH_USERS),
    },
  };
}
