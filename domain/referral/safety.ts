/**
 * What to do now when someone is in crisis or at immediate risk. Social prescribing is not a
 * crisis service (link workers may take days to make contact), so a referral stops here and
 * the referrer is shown these actions instead.
 *
 * Sources: NHS "Where to get urgent help for mental health" (NHS 111, option 2, for urgent
 * mental health help in England; 999 when life is at risk) and South London and Maudsley NHS
 * Foundation Trust's 24-hour mental health crisis line for Southwark, Lambeth, Lewisham and Croydon.
 */
export interface UrgentAction {
  title: string;
  detail: string;
}

export const URGENT_ACTIONS: readonly UrgentAction[] = [
  { title: 'Life at risk now', detail: 'Call 999, or go to A&E.' },
  { title: 'Urgent mental health help', detail: 'NHS 111, option 2 (24 hours), or the South London and Maudsley crisis line, 0800 731 2864.' },
  { title: 'Today', detail: 'Ask the duty GP at the practice to speak to the person today.' },
  { title: 'Safeguarding concern', detail: "Follow your practice's safeguarding procedure and tell the safeguarding lead." },
];
