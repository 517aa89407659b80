import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { z } from 'zod';

/**
 * Who is using the tab. In Teams that is the person Teams single sign-on names (a verified
 * token); in local mode, with no Entra app to sign in to, it is one of the Agents Playground's
 * made-up people (.m365agentsplayground.yml), chosen on a clearly bannered picker.
 */

export interface TabUser {
  /** Teams user id when known (local mode), otherwise the Entra object id. */
  id: string;
  name: string;
  /** Sign-in email, lower case. */
  email?: string;
  /** Entra object id, lower case. */
  aadObjectId?: string;
  /** Their Teams user id, when Signpost knows it (local mode; a contact it has met in Teams). */
  teamsUserId?: string;
}

const playgroundPerson = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  email: z.string().email().optional(),
  aadObjectId: z.string().optional(),
});
const playgroundFile = z.object({ currentUser: playgroundPerson, users: z.array(playgroundPerson).default([]) });

const PLAYGROUND_CONFIG = path.resolve(__dirname, '..', '..', '..', '.m365agentsplayground.yml');

/** The playground's people, the current user first. */
export function playgroundPeople(file = PLAYGROUND_CONFIG): TabUser[] {
  const parsed = playgroundFile.parse(load(readFileSync(file, 'utf8')));
  return [parsed.currentUser, ...parsed.users].map((person) => ({
    id: person.id,
    name: person.name,
    teamsUserId: person.id,
    ...(person.email ? { email: person.email.toLowerCase() } : {}),
    ...(person.aadObjectId ? { aadObjectId: person.aadObjectId.toLowerCase() } : {}),
  }));
}
