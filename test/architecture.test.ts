import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The layout's rules, checked on the source: the domain is plain TypeScript (zod only), the
 * Bot Framework SDK stays in the Teams surface and the dialogs (so a move to its successor,
 * the Microsoft 365 Agents SDK, stays small), and cards and storage know nothing of the bot.
 */
const ROOT = path.resolve(__dirname, '../..');

function sources(folder: string): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) visit(full);
      else if (name.endsWith('.ts')) found.push(full);
    }
  };
  visit(path.join(ROOT, folder));
  return found;
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((match) => match[1]);
}

const relative = (file: string) => path.relative(ROOT, file);

describe('Layout rules', () => {
  it('keeps the domain free of third-party imports apart from zod, and of every other folder', () => {
    const offending = sources('domain').flatMap((file) =>
      imports(file)
        .filter((spec) => (spec.startsWith('.') ? !path.resolve(path.dirname(file), spec).startsWith(path.join(ROOT, 'domain')) : spec !== 'zod'))
        .map((spec) => `${relative(file)} imports ${spec}`),
    );
    expect(offending).to.deep.equal([]);
  });

  it('keeps the Bot Framework SDK in bot/teams, the composition root and dialogs/', () => {
    // The turn benchmark's yardsticks (the bare bot and the form floor) are the SDK itself, as Signpost is measured against them.
    const allowed = (file: string) => /^(bot\/teams\/|dialogs\/|bot\/app\/(server|signpost)\.ts$|bench\/(bareBot|formFloorBot)\.ts$)/.test(relative(file));
    const offending = ['bot', 'cards', 'storage', 'domain', 'dialogs', 'scripts', 'bench']
      .flatMap(sources)
      .filter((file) => !allowed(file) && imports(file).some((spec) => /^(botbuilder|botframework-)/.test(spec)))
      .map(relative);
    expect(offending).to.deep.equal([]);
  });

  it('keeps cards and storage free of the bot', () => {
    const offending = ['cards', 'storage']
      .flatMap(sources)
      .filter((file) => imports(file).some((spec) => spec.startsWith('.') && path.resolve(path.dirname(file), spec).startsWith(path.join(ROOT, 'bot'))))
      .map(relative);
    expect(offending).to.deep.equal([]);
  });
});
