import type { DirectoryCommand } from '../directory/directoryCommands';

/**
 * What a person typed, as a command. Teams puts an <at>Signpost</at> mention in channel
 * messages; the caller strips it before parsing.
 */
export type ChatCommand =
  | { name: 'help' }
  | { name: 'refer' }
  | { name: 'link'; serviceId: string }
  | { name: 'unlink' }
  | { name: 'status'; reference?: string }
  | { name: 'my-referrals' }
  | { name: 'notify'; preference: string }
  | { name: 'supervisors'; change?: 'add' | 'remove'; email?: string; role?: string }
  | { name: 'intake'; serviceId: string; change?: 'add' | 'remove'; email?: string }
  | DirectoryCommand
  | { name: 'unknown' };

export function parseCommand(text: string | undefined): ChatCommand {
  const words = (text ?? '')
    .replace(/<[^>]*>/g, ' ')
    .trim()
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean);
  const first = words[0] ?? '';
  const phrase = words.join(' ');
  if (['help', 'hi', 'hello', 'start', '?'].includes(first)) return { name: 'help' };
  if (first === 'refer' || phrase === 'new referral' || phrase === 'start a referral') return { name: 'refer' };
  if (first === 'link') return { name: 'link', serviceId: words[1] ?? '' };
  if (first === 'unlink') return { name: 'unlink' };
  if (phrase === 'my referrals' || phrase === 'referrals') return { name: 'my-referrals' };
  if (first === 'notify') return { name: 'notify', preference: words[1] ?? '' };
  if (first === 'status') return { name: 'status', reference: /^sp-\d{4}-\d{6}$/.test(words[1] ?? '') ? words[1] : undefined };
  if (first === 'supervisors' || first === 'supervisor') {
    const change = words[1] === 'add' || words[1] === 'remove' ? words[1] : undefined;
    return { name: 'supervisors', change, email: words[2], role: words[3] };
  }
  if (first === 'intake') {
    // intake <service> | intake <service> email <address> | intake <service> email remove <address>
    const serviceId = words[1] ?? '';
    if (words[2] !== 'email') return { name: 'intake', serviceId };
    return words[3] === 'remove' ? { name: 'intake', serviceId, change: 'remove', email: words[4] } : { name: 'intake', serviceId, change: 'add', email: words[3] };
  }
  // wait 6 weeks | pause until 2027-02-01 | reopen | maintainers [add|remove <email>] | verify [<service id>]
  if (first === 'wait') return { name: 'wait', weeks: words[1] };
  if (first === 'pause') return { name: 'pause', until: words[1] === 'until' ? words[2] : words[1] };
  if (first === 'reopen') return { name: 'reopen' };
  if (first === 'maintainers' || first === 'maintainer') {
    const change = words[1] === 'add' || words[1] === 'remove' ? words[1] : undefined;
    return { name: 'maintainers', change, email: words[2] };
  }
  if (first === 'verify') return { name: 'verify', serviceId: words[1] };
  return { name: 'unknown' };
}
