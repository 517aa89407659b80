import serviceTemplate from './service.json';
import { renderCard } from './render';
import { escapeCardText } from '../domain/text';
import { DirectoryService, longDate, notTakingReferrals } from '../domain/directory/schema';

/**
 * A directory service as a card anyone can share (the compose box search inserts it), and the
 * short preview shown in the search results. Both say what it offers, who it is for, the current
 * wait, whether it is open, and when its entry is out of date.
 */

export interface ServiceView {
  service: DirectoryService;
  unverified: boolean;
}

export function serviceWait(service: DirectoryService): string {
  return service.waitingTimeWeeks.value === null ? 'not published' : `about ${service.waitingTimeWeeks.value} weeks`;
}

export function serviceOpenness(service: DirectoryService): string {
  if (!service.takesReferrals) return `Takes no referrals. ${service.howPeopleReachIt ?? ''}`.trim();
  return notTakingReferrals(service) ?? 'Open to referrals';
}


export function serviceCard({ service, unverified }: ServiceView): Record<string, unknown> {
  return renderCard(serviceTemplate, {
    serviceId: service.id,
    name: escapeCardText(service.name),
    organisation: escapeCardText(service.organisation),
    outOfDate: unverified ? `These details were last checked on ${longDate(service.lastVerified)} and may be out of date: check with the service before relying on them.` : '',
    offers: escapeCardText(service.description),
    whoFor: escapeCardText(service.whoFor),
    wait: serviceWait(service),
    open: escapeCardText(serviceOpenness(service)),
    lastChecked: longDate(service.lastVerified),
    links: service.activities.length ? escapeCardText(`Links people to: ${service.activities.join(', ')}.`) : '',
    takesReferrals: service.takesReferrals,
  });
}

/** The search result's preview (a thumbnail card: a title and a few lines of plain text). */
export function servicePreview({ service, unverified }: ServiceView): { title: string; subtitle: string; text: string } {
  const plain = (text: string) => text.replace(/[<>]/g, '');
  const status = [`Wait: ${serviceWait(service)}`, service.takesReferrals ? (service.status === 'open' ? 'Open' : service.status === 'closed' ? 'Closed' : 'Paused') : 'Takes no referrals'];
  if (unverified) status.push('May be out of date');
  return {
    title: plain(service.name),
    subtitle: plain(`For: ${service.whoFor}`),
    text: plain(`${service.description} ${status.join(' · ')}`),
  };
}
