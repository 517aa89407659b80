import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ManifestUtil } from '@microsoft/app-manifest';
import template from '../manifest/manifest.template.json';
import packageJson from '../package.json';

/** Settings that go into the Teams app manifest (see .env.example). */
export interface ManifestSettings {
  microsoftAppId: string;
  teamsAppId: string;
  publicHostname: string;
  version: string;
}

/** Used when no MicrosoftAppId is set: a package that validates but cannot be installed. */
export const PLACEHOLDER_BOT_ID = '00000000-0000-0000-0000-000000000000';
const DEFAULT_TEAMS_APP_ID = '6f1c9a52-3d47-4c1e-9b8e-5a2f0d7c4e11';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function manifestSettings(env: NodeJS.ProcessEnv = process.env): ManifestSettings {
  return {
    microsoftAppId: env.MicrosoftAppId?.trim() || PLACEHOLDER_BOT_ID,
    teamsAppId: env.TEAMS_APP_ID?.trim() || DEFAULT_TEAMS_APP_ID,
    publicHostname: env.SIGNPOST_PUBLIC_HOSTNAME?.trim() || 'signpost.example.org',
    version: packageJson.version,
  };
}

export function buildManifest(settings: ManifestSettings): Record<string, any> {
  for (const [name, value] of [['MicrosoftAppId', settings.microsoftAppId], ['TEAMS_APP_ID', settings.teamsAppId]]) {
    if (!GUID.test(value)) throw new Error(`${name} must be a GUID, got "${value}"`);
  }
  if (!/^[a-z0-9.-]+$/i.test(settings.publicHostname)) {
    throw new Error(`SIGNPOST_PUBLIC_HOSTNAME must be a host name without scheme or path, got "${settings.publicHostname}"`);
  }
  const values: Record<string, string> = {
    MICROSOFT_APP_ID: settings.microsoftAppId,
    TEAMS_APP_ID: settings.teamsAppId,
    PUBLIC_HOSTNAME: settings.publicHostname,
    APP_VERSION: settings.version,
  };
  const filled = JSON.stringify(template).replace(/\$\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`unknown manifest placeholder ${name}`);
    return values[name];
  });
  return JSON.parse(filled);
}

/** The official Teams manifest JSON schema for the manifest's version, read offline from the npm package. */
export function officialSchema(manifestVersion: string): Record<string, unknown> {
  const file = path.join(
    path.dirname(require.resolve('@microsoft/app-manifest/package.json')),
    'build/json-schemas/teams',
    `v${manifestVersion}`,
    'MicrosoftTeams.schema.json',
  );
  // The published schema has a "\a" escape that JavaScript regular expressions reject; the
  // package's own loader applies the same replacement.
  return JSON.parse(readFileSync(file, 'utf8').replace(/\\a/g, '\\x07'));
}

/** Schema errors (empty when valid). */
export async function validateManifest(manifest: Record<string, any>): Promise<string[]> {
  return ManifestUtil.validateManifestAgainstSchema(manifest as never, officialSchema(manifest.manifestVersion) as never);
}
