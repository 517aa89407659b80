import welcomeTemplate from './welcome.json';
import { renderCard } from './render';
import { escapeCardText } from '../domain/text';

export interface CommandHelp {
  command: string;
  description: string;
}

/** Commands in a 1:1 or group chat with Signpost. Keep in step with the manifest's command lists. */
export const CHAT_COMMANDS: CommandHelp[] = [
  { command: 'refer', description: 'Refer someone to a social prescribing service (also: new referral).' },
  { command: 'my referrals', description: 'Your referrals: status, owner and days since the last update.' },
  { command: 'notify', description: 'How you hear about your referrals: notify teams, notify email or notify both.' },
  { command: 'cancel', description: 'Stop the referral you are writing. Nothing is saved.' },
  { command: 'help', description: 'Show this card.' },
];

/** Commands in a team channel, said with an @mention of Signpost. */
export const CHANNEL_COMMANDS: CommandHelp[] = [
  { command: 'link [service id]', description: "This channel receives that service's referrals, e.g. link sail." },
  { command: 'unlink', description: 'Stop sending referrals to this channel.' },
  { command: 'status', description: 'Which service this channel serves, and its open referrals.' },
  {
    command: 'supervisors',
    description:
      'Who gets escalations and reminders. Team owners: supervisors add [email] clinical (or manager), supervisors remove [email].',
  },
  { command: 'wait [weeks]', description: "Link workers: the service's typical wait now, e.g. wait 6 weeks. Matches and referrers' updates quote it." },
  { command: 'pause until [date]', description: 'Link workers: take no new referrals until then, e.g. pause until 2027-02-01. Say reopen to take them again.' },
  { command: 'reopen', description: 'Link workers: take referrals again after a pause.' },
  {
    command: 'maintainers',
    description: "Who is asked to confirm the service's directory entry. Team owners: maintainers add [email], maintainers remove [email].",
  },
  { command: 'verify', description: 'Team owners: ask the maintainers to confirm the directory entry now, e.g. after hearing it is wrong.' },
  { command: 'help', description: 'Show this card.' },
];

export function welcomeCard(options: { firstName?: string; inChannel?: boolean }): Record<string, unknown> {
  // The first name comes from the Teams display name, which its owner typed.
  const greeting = options.firstName
    ? `Hello ${escapeCardText(options.firstName)}, I'm Signpost.`
    : "Hello, I'm Signpost.";
  return renderCard(welcomeTemplate, {
    greeting,
    commands: options.inChannel ? CHANNEL_COMMANDS : CHAT_COMMANDS,
    // Referrers' and admins' help (admin commands are not in the manifest's command lists).
    inChat: !options.inChannel,
  });
}
