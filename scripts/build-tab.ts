import path from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles the tab's front end (tab/src: TypeScript and CSS, with @microsoft/teams-js) into
 * dist/tab/assets with esbuild, at `npm run build`: the tab loads nothing from anywhere else.
 * Type-checking is tsc's (tab/tsconfig.json); esbuild only bundles.
 */

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const TAB_ASSETS = path.join(REPO_ROOT, 'dist', 'tab', 'assets');

export async function buildTab(outdir = TAB_ASSETS): Promise<void> {
  await build({
    entryPoints: { tab: path.join(REPO_ROOT, 'tab', 'src', 'main.ts') },
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    outdir,
    logLevel: 'warning',
    legalComments: 'none',
  });
  await build({ entryPoints: { tab: path.join(REPO_ROOT, 'tab', 'src', 'tab.css') }, bundle: true, minify: true, outdir, logLevel: 'warning' });
}

if (require.main === module) {
  buildTab().catch((error) => {
    process.stderr.write(`Building the tab failed: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
