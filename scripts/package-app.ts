import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildManifest, manifestSettings, PLACEHOLDER_BOT_ID, validateManifest } from './manifest';
import { readPngInfo } from './png';
import { writeZip } from './zip';

/**
 * `npm run package`: writes the Teams app package (manifest.json, color.png, outline.png) to
 * dist/appPackage/signpost.zip, with the bot id from MicrosoftAppId, after validating the
 * manifest against the official schema and the icons' sizes.
 */
export async function packageApp(env: NodeJS.ProcessEnv, outputFile: string): Promise<{ file: string; warnings: string[] }> {
  const settings = manifestSettings(env);
  const warnings: string[] = [];
  if (settings.microsoftAppId === PLACEHOLDER_BOT_ID) {
    warnings.push('MicrosoftAppId is not set: the package validates but cannot be installed in Teams.');
  }
  const manifest = buildManifest(settings);
  const problems = await validateManifest(manifest);
  if (problems.length) throw new Error(`The manifest does not match the Teams schema:\n${problems.join('\n')}`);

  const folder = path.resolve(__dirname, '..', '..', 'manifest');
  const color = readFileSync(path.join(folder, 'color.png'));
  const outline = readFileSync(path.join(folder, 'outline.png'));
  const colorInfo = readPngInfo(color);
  const outlineInfo = readPngInfo(outline);
  if (colorInfo.width !== 192 || colorInfo.height !== 192) throw new Error('color.png must be 192x192');
  if (outlineInfo.width !== 32 || outlineInfo.height !== 32 || !outlineInfo.hasAlpha) {
    throw new Error('outline.png must be 32x32 with transparency');
  }

  mkdirSync(path.dirname(outputFile), { recursive: true });
  writeFileSync(
    outputFile,
    writeZip([
      { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2)) },
      { name: 'color.png', data: color },
      { name: 'outline.png', data: outline },
    ]),
  );
  return { file: outputFile, warnings };
}

if (require.main === module) {
  const output = path.resolve(__dirname, '..', 'appPackage', 'signpost.zip');
  packageApp(process.env, output).then(
    ({ file, warnings }) => {
      for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
      process.stdout.write(`Teams app package: ${file}\n`);
    },
    (error) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
