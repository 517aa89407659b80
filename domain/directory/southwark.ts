import southwarkServices from './southwark-services.json';
import { DirectoryService, parseDirectory } from './schema';

/** The directory checked into the repository: the Southwark services from the 2019 review. */
export function southwarkDirectory(): DirectoryService[] {
  return parseDirectory(southwarkServices);
}
