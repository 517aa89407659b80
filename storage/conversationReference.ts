/**
 * A stored conversation reference moved to a new serviceUrl, or undefined when it is not a
 * reference to that conversation or already has that serviceUrl (nothing to write).
 */
export function movedTo(
  reference: Record<string, unknown> | undefined,
  conversationId: string,
  serviceUrl: string,
): Record<string, unknown> | undefined {
  const conversation = reference?.conversation as { id?: unknown } | undefined;
  if (!reference || conversation?.id !== conversationId || reference.serviceUrl === serviceUrl) return undefined;
  return { ...reference, serviceUrl };
}
