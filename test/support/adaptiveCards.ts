import { expect } from 'chai';

// The npm package's "main" is an ES module build that Node cannot load; its UMD bundle is the
// same SDK that renders cards in browsers.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const AC = require('adaptivecards/dist/adaptivecards.js');

/**
 * Parses a card with the Adaptive Cards SDK, as Teams' renderer would, and returns every
 * parse warning and validation problem (unknown elements, duplicate input ids...).
 */
export function adaptiveCardProblems(card: Record<string, unknown>): string[] {
  const parsed = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let index = 0; index < context.eventCount; index += 1) problems.push(context.getEventAt(index).message);
  for (const event of parsed.validateProperties().validationEvents) problems.push(event.message);
  const unresolved = JSON.stringify(card).match(/\$\{[^}]*\}/g);
  if (unresolved) problems.push(`unfilled template expressions: ${unresolved.join(', ')}`);
  return problems;
}

export function expectValidTeamsCard(card: Record<string, unknown>): void {
  expect(card.type).to.equal('AdaptiveCard');
  expect(Number(card.version)).to.be.at.most(1.5);
  expect(adaptiveCardProblems(card)).to.deep.equal([]);
}

/** Every object in a card, depth first: its elements, actions, choices and their parts. */
export function cardElements(node: unknown): Array<Record<string, any>> {
  if (Array.isArray(node)) return node.flatMap(cardElements);
  if (!node || typeof node !== 'object') return [];
  return [node as Record<string, any>, ...Object.values(node).flatMap(cardElements)];
}

/** All text a person would see on the card, to assert on content. */
export function cardText(card: unknown): string {
  const keys = ['text', 'title', 'value', 'label', 'placeholder'];
  return cardElements(card)
    .flatMap((element) => keys.map((key) => element[key]).filter((value): value is string => typeof value === 'string'))
    .join('\n');
}
