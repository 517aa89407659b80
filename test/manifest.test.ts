import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildManifest, manifestSettings, validateManifest } from '../scripts/manifest';
import { packageApp } from '../scripts/package-app';
import { pixelAt, readPngInfo } from '../scripts/png';
import { readZip } from '../scripts/zip';
import { CHANNEL_COMMANDS, CHAT_COMMANDS } from '../cards/welcome';
import { REFER_COMMAND, SEARCH_COMMAND } from '../bot/teams/messageExtension';

const botId = '8a3d5f0e-2b1c-4d6e-9f70-1a2b3c4d5e6f';
const manifestFolder = path.resolve(__dirname, '..', '..', 'manifest');

describe('Teams app package', () => {
  it('builds a manifest that passes the official schema (offline copy)', async () => {
    const manifest = buildManifest(manifestSettings({ MicrosoftAppId: botId, SIGNPOST_PUBLIC_HOSTNAME: 'signpost.example.nhs.uk' }));
    expect(Number(manifest.manifestVersion)).to.be.at.least(1.22);
    expect(await validateManifest(manifest)).to.deep.equal([]);
    expect(manifest.bots[0].botId).to.equal(botId);
    expect(manifest.validDomains).to.deep.equal(['signpost.example.nhs.uk']);
    expect(manifest.bots[0].scopes).to.have.members(['personal', 'team', 'groupChat']);
    expect(JSON.stringify(manifest)).not.to.contain('${{');
  });

  it('offers the tab: a personal static tab, a channel tab to configure, and SSO for the tab', async () => {
    const manifest = buildManifest(manifestSettings({ MicrosoftAppId: botId, SIGNPOST_PUBLIC_HOSTNAME: 'signpost.example.nhs.uk' }));
    expect(manifest.staticTabs[0]).to.include({ entityId: 'signpost', name: 'Signpost', contentUrl: 'https://signpost.example.nhs.uk/tab' });
    expect(manifest.configurableTabs[0]).to.deep.include({ configurationUrl: 'https://signpost.example.nhs.uk/tab/config', scopes: ['team'] });
    // The SSO audience the server checks by default (config.ts tabAudience).
    expect(manifest.webApplicationInfo).to.deep.equal({ id: botId, resource: `api://signpost.example.nhs.uk/${botId}` });
    expect(await validateManifest(manifest)).to.deep.equal([]);
  });

  it('lists in the manifest the chat commands the bot answers', () => {
    const manifest = buildManifest(manifestSettings({ MicrosoftAppId: botId }));
    const chat = manifest.bots[0].commandLists.find((list: { scopes: string[] }) => list.scopes.includes('personal'));
    const titles = chat.commands.map((command: { title: string }) => command.title);
    for (const { command } of CHAT_COMMANDS) expect(titles).to.include(command);
    const team = manifest.bots[0].commandLists.find((list: { scopes: string[] }) => list.scopes.includes('team'));
    const teamTitles = team.commands.map((command: { title: string }) => command.title);
    for (const { command } of CHANNEL_COMMANDS) expect(teamTitles).to.include(command.split(' ')[0]);
  });

  it('has the message extension, on the same bot: the directory search and the private referral action', async () => {
    const manifest = buildManifest(manifestSettings({ MicrosoftAppId: botId }));
    const [extension] = manifest.composeExtensions;
    expect(extension.botId).to.equal(botId);
    const byId = Object.fromEntries(extension.commands.map((command: { id: string }) => [command.id, command]));
    expect(byId[SEARCH_COMMAND]).to.include({ type: 'query' });
    expect(byId[SEARCH_COMMAND].parameters.map((parameter: { name: string }) => parameter.name)).to.deep.equal(['query']);
    expect(byId[REFER_COMMAND]).to.include({ type: 'action', fetchTask: true, title: 'Refer to social prescribing' });
    expect(byId[REFER_COMMAND].context).to.include.members(['message', 'compose']);
    // The schema check sees the extension: a command of an unknown type fails it.
    byId[SEARCH_COMMAND].type = 'lookup';
    expect((await validateManifest(manifest)).join('\n')).to.contain('/composeExtensions/0/commands/0/type');
  });

  it('the schema check fails on a broken manifest, so the test above can fail', async () => {
    const manifest = buildManifest(manifestSettings({ MicrosoftAppId: botId }));
    manifest.bots[0].scopes = ['everywhere'];
    delete manifest.name;
    const problems = await validateManifest(manifest);
    expect(problems.join('\n')).to.contain('/bots/0/scopes');
    expect(problems.join('\n')).to.match(/name/);
  });

  it('refuses settings that would make an invalid package', () => {
    expect(() => buildManifest(manifestSettings({ MicrosoftAppId: 'not-a-guid' }))).to.throw(/MicrosoftAppId must be a GUID/);
    expect(() => buildManifest(manifestSettings({ SIGNPOST_PUBLIC_HOSTNAME: 'https://x.example/path' }))).to.throw(/host name/);
  });

  it('has a 192x192 colour icon and a 32x32 outline icon with a transparent background', () => {
    const color = readFileSync(path.join(manifestFolder, 'color.png'));
    const outline = readFileSync(path.join(manifestFolder, 'outline.png'));
    expect(readPngInfo(color)).to.include({ width: 192, height: 192 });
    expect(readPngInfo(outline)).to.include({ width: 32, height: 32, hasAlpha: true });
    expect(pixelAt(outline, 0, 0)[3]).to.equal(0); // transparent corner
    const glyph = pixelAt(outline, 16, 20);
    expect(glyph).to.deep.equal([255, 255, 255, 255]); // the post is white
    expect(pixelAt(color, 0, 0)[3]).to.equal(255); // the colour icon is a full tile
  });

  it('npm run package writes a zip with the manifest and both icons at its root', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'signpost-package-'));
    try {
      const { file, warnings } = await packageApp({ MicrosoftAppId: botId }, path.join(folder, 'signpost.zip'));
      expect(warnings).to.deep.equal([]);
      const entries = readZip(readFileSync(file));
      expect(entries.map((entry) => entry.name)).to.deep.equal(['manifest.json', 'color.png', 'outline.png']);
      const manifest = JSON.parse(entries[0].data.toString('utf8'));
      expect(manifest.bots[0].botId).to.equal(botId);
      expect(manifest.composeExtensions[0].commands.map((command: { id: string }) => command.id)).to.deep.equal([SEARCH_COMMAND, REFER_COMMAND]);
      expect(await validateManifest(manifest)).to.deep.equal([]);
      expect(entries[1].data.equals(readFileSync(path.join(manifestFolder, 'color.png')))).to.equal(true);

      const placeholder = await packageApp({}, path.join(folder, 'placeholder.zip'));
      expect(placeholder.warnings.join(' ')).to.contain('MicrosoftAppId is not set');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
