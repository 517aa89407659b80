import { readFileSync } from 'node:fs';
import type { Frame, Page } from 'playwright-core';

/**
 * Headless Chromium on the Signpost tab, with axe-core for accessibility checks. axe is
 * evaluated through the browser's debugging protocol rather than added as a script tag, so the
 * tab's Content-Security-Policy (script-src 'self') stays exactly as served.
 */

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const WCAG_22_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export const DESKTOP = { width: 1280, height: 900 };
/** A phone in portrait: Teams mobile's width. */
export const MOBILE = { width: 375, height: 740 };

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * A stand-in for the Teams host page: it frames the tab and answers the teams-js messages the
 * tab sends (initialize, getContext, then getAuthToken with `token`), recording what was asked
 * in `window.asked`. Serve it from the tab's origin (a routed page), since teams-js only listens
 * to hosts it trusts.
 */
export function teamsHostPage(tabUrl: string, token: string, tenantId: string): string {
  return `<!doctype html><html lang="en"><head><title>Teams (stand-in)</title></head><body>
<iframe id="tab" title="Signpost" src="${tabUrl}" width="1200" height="850"></iframe>
<script>
  window.asked = [];
  const frame = document.getElementById('tab');
  window.addEventListener('message', (event) => {
    const message = event.data;
    if (event.source !== frame.contentWindow || !message || typeof message.func !== 'string') return;
    window.asked.push(message.func);
    const answers = {
      initialize: ['content', 'web', '', '2.0.0'],
      getContext: [{ locale: 'en-gb', frameContext: 'content', entityId: 'signpost', tid: ${JSON.stringify(tenantId)}, hostClientType: 'web' }],
      'authentication.getAuthToken': [true, ${JSON.stringify(token)}],
    };
    const args = answers[message.func] ?? [];
    frame.contentWindow.postMessage({ id: message.id, uuid: message.uuid, uuidAsString: message.uuidAsString, args }, '*');
  });
</script></body></html>`;
}

/** axe-core's WCAG 2.2 A and AA violations on the page (or a framed tab) as it is now, described one per line. */
export async function accessibilityViolations(page: Page | Frame): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })).violations;
  }, WCAG_22_AA);
  return violations.map((violation) => `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}
