import { z } from 'zod';

/**
 * Escalation: a link worker raises a case beyond their remit with the service's supervisors
 * (the review's matrix supervision: a host-organisation manager and a clinical supervisor).
 * A supervisor acknowledges it, takes the case over, or records the advice they gave. Until
 * someone acknowledges, the alert is re-sent on a clock (see policy.ts).
 */

export const ESCALATION_REASONS = ['safeguarding', 'risk', 'beyond-social-prescribing', 'clinical-advice'] as const;
export type EscalationReason = (typeof ESCALATION_REASONS)[number];

export const ESCALATION_REASON_LABELS: Record<EscalationReason, string> = {
  safeguarding: 'Safeguarding concern',
  risk: 'Risk to self or others',
  'beyond-social-prescribing': 'Needs beyond social prescribing',
  'clinical-advice': 'Clinical advice needed',
};

export const SUPERVISOR_ROLES = ['host-organisation', 'clinical'] as const;
export type SupervisorRole = (typeof SUPERVISOR_ROLES)[number];

export const SUPERVISOR_ROLE_LABELS: Record<SupervisorRole, string> = {
  'host-organisation': 'host-organisation manager',
  clinical: 'clinical supervisor',
};

/**
 * Who hears first: clinical questions and risk go to the clinical supervisor, safeguarding and
 * needs beyond social prescribing to the host organisation (which holds the safeguarding lead
 * and the service's remit). When the service has nobody in that role, every supervisor hears.
 */
const FIRST_ROLE: Record<EscalationReason, SupervisorRole> = {
  safeguarding: 'host-organisation',
  risk: 'clinical',
  'beyond-social-prescribing': 'host-organisation',
  'clinical-advice': 'clinical',
};

export function firstResponders<T extends { role: SupervisorRole }>(reason: EscalationReason, supervisors: T[]): T[] {
  const inRole = supervisors.filter((supervisor) => supervisor.role === FIRST_ROLE[reason]);
  return inRole.length ? inRole : supervisors;
}

const person = z.object({ id: z.string().trim().min(1).max(200), name: z.string().trim().min(1).max(100) });
const isoDateTime = z.string().datetime({ offset: true });

export const escalationSchema = z.object({
  id: z.string().uuid(),
  reason: z.enum(ESCALATION_REASONS),
  note: z.string().trim().min(1).max(1000),
  raisedBy: person,
  raisedAt: isoDateTime,
  acknowledged: z.object({ by: person, at: isoDateTime }).optional(),
  resolution: z
    .object({ kind: z.enum(['taken-over', 'advice-given']), by: person, at: isoDateTime, note: z.string().trim().min(1).max(1000).optional() })
    .optional(),
});
export type Escalation = z.infer<typeof escalationSchema>;

export type EscalationResponse = { verb: 'acknowledge' } | { verb: 'take-over' } | { verb: 'advice'; note: string };

export interface EscalationActor {
  id: string;
  name: string;
  /** A supervisor of the referral's service, or a Signpost admin (who hears last). */
  mayAnswer: boolean;
}

export type RespondResult =
  | { ok: true; changed: true; escalation: Escalation; summary: string; takeOver?: { id: string; name: string } }
  | { ok: true; changed: false; escalation: Escalation; summary: string }
  | { ok: false; error: string };

/** Nobody has answered yet: the alert keeps being re-sent. */
export function isAwaitingAnswer(escalation: Escalation): boolean {
  return !escalation.acknowledged && !escalation.resolution;
}

export function raiseEscalation(
  input: { id: string; reason: EscalationReason; note: string; at: string },
  actor: { id: string; name: string; isLinkWorker: boolean },
  caseIsOpen: boolean,
): { ok: true; escalation: Escalation; summary: string } | { ok: false; error: string } {
  if (!actor.isLinkWorker) return { ok: false, error: "Only the service's link workers can escalate this referral." };
  if (!caseIsOpen) return { ok: false, error: 'This referral is no longer open, so it cannot be escalated. Talk to your supervisor directly.' };
  const escalation = escalationSchema.parse({
    id: input.id,
    reason: input.reason,
    note: input.note,
    raisedBy: { id: actor.id, name: actor.name },
    raisedAt: input.at,
  });
  return { ok: true, escalation, summary: `Escalated (${ESCALATION_REASON_LABELS[input.reason].toLowerCase()}) by ${actor.name}` };
}

export function respondToEscalation(escalation: Escalation, response: EscalationResponse, actor: EscalationActor, at: string): RespondResult {
  if (!actor.mayAnswer) return { ok: false, error: "Only the service's supervisors can answer this escalation." };
  const by = { id: actor.id, name: actor.name };
  if (escalation.resolution) {
    const what = escalation.resolution.kind === 'taken-over' ? 'taken over' : 'answered with advice';
    return { ok: true, changed: false, escalation, summary: `Already ${what} by ${escalation.resolution.by.name}.` };
  }
  // Any answer acknowledges; the first acknowledgement is kept.
  const acknowledged = escalation.acknowledged ?? { by, at };
  switch (response.verb) {
    case 'acknowledge':
      if (escalation.acknowledged) {
        return { ok: true, changed: false, escalation, summary: `Already acknowledged by ${escalation.acknowledged.by.name}.` };
      }
      return { ok: true, changed: true, escalation: { ...escalation, acknowledged }, summary: `Escalation acknowledged by ${actor.name}` };
    case 'take-over':
      return {
        ok: true,
        changed: true,
        escalation: { ...escalation, acknowledged, resolution: { kind: 'taken-over', by, at } },
        summary: `Case taken over by ${actor.name} (supervisor)`,
        takeOver: by,
      };
    case 'advice': {
      const note = response.note.trim();
      if (!note) return { ok: false, error: 'Write the advice you gave, so the link worker has it on the card.' };
      return {
        ok: true,
        changed: true,
        escalation: { ...escalation, acknowledged, resolution: { kind: 'advice-given', by, at, note: note.slice(0, 1000) } },
        summary: `Advice given by ${actor.name}`,
      };
    }
  }
}

/** One line for a card's escalation list: what was raised and where it stands. */
export function describeEscalation(escalation: Escalation, formatTime: (iso: string) => string): string {
  const raised = `${ESCALATION_REASON_LABELS[escalation.reason]}, raised by ${escalation.raisedBy.name} ${formatTime(escalation.raisedAt)}`;
  if (escalation.resolution?.kind === 'taken-over') return `${raised}: taken over by ${escalation.resolution.by.name} ${formatTime(escalation.resolution.at)}.`;
  if (escalation.resolution?.kind === 'advice-given') {
    return `${raised}: advice from ${escalation.resolution.by.name} ${formatTime(escalation.resolution.at)}: ${escalation.resolution.note}`;
  }
  if (escalation.acknowledged) return `${raised}: acknowledged by ${escalation.acknowledged.by.name} ${formatTime(escalation.acknowledged.at)}.`;
  return `${raised}: waiting for a supervisor.`;
}
