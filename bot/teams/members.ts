import { TeamsInfo, TurnContext } from 'botbuilder';

/**
 * Who someone is in Teams, for the checks that need their sign-in email (supervisors and
 * admins are configured by email) or their role in a team.
 */

/** A member record's sign-in email, lower case: its email, or its UPN when that is an address. */
export function signInEmail(member: { email?: string; userPrincipalName?: string }): string | undefined {
  const email = (member.email ?? member.userPrincipalName)?.trim().toLowerCase();
  return email && /@/.test(email) ? email : undefined;
}

/**
 * The sender as Teams describes them in this conversation, or undefined when Teams cannot say
 * (not a member, or not running in Teams): callers then decide on ids alone.
 */
export async function describeSender(context: TurnContext): Promise<{ email?: string; userRole?: string } | undefined> {
  try {
    const member = await TeamsInfo.getMember(context, context.activity.from.id);
    return { email: signInEmail(member), userRole: member.userRole?.toLowerCase() };
  } catch {
    return undefined;
  }
}

/** The person speaking, for the commands that decide by who they are (supervisors, the directory's upkeep). */
export async function speakerOf(context: TurnContext): Promise<{ id: string; name?: string; aadObjectId?: string; email?: string; role?: string }> {
  const from = context.activity.from;
  const described = await describeSender(context);
  return { id: from.id, name: from.name, aadObjectId: from.aadObjectId, email: described?.email, role: described?.userRole };
}
