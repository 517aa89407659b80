import sample from './sample-activities.json';
import { Activity, parseActivities } from './activities';

/** The activities checked into the repository: an illustrative sample written for Signpost (see the file's note). */
export function sampleActivities(): Activity[] {
  return parseActivities(sample);
}
