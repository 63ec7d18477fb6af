import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const MAIN = 'dist/apps/order-pipeline/src/main.js';

/** The node flags before the app's entry point in a command line. */
function flagsBefore(command: string, where: string): string[] {
  const at = command.indexOf(MAIN);
  if (at < 0) throw new Error(`${where} no longer runs ${MAIN}`);
  const words = command.slice(0, at).split(/\s+/);
  const node = words.lastIndexOf('node');
  if (node < 0) throw new Error(`${where} no longer runs ${MAIN} with node`);
  return words.slice(node + 1).filter((word) => word.startsWith('--'));
}

/**
 * The node flags the app is run with, read from where they are written (docs/PERFORMANCE.md,
 * "Node flags"): `./scripts/start`, the Dockerfile's CMD, `pnpm start:prod` and the README's
 * command for a supervisor.
 */
export function appNodeFlags(): { start: string[]; dockerfile: string[]; startProd: string[]; readme: string[] } {
  const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
  const start = read('scripts/start').replace(/\\\n\s*/g, ' ');
  const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'));
  if (!cmd) throw new Error('the Dockerfile has no CMD in exec form');
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  return {
    start: flagsBefore(
      start.split('\n').find((line) => /\bnode\b.*dist\/apps\/order-pipeline/.test(line)) ?? '',
      'scripts/start',
    ),
    dockerfile: flagsBefore((JSON.parse(cmd[1]) as string[]).join(' '), 'the Dockerfile'),
    startProd: flagsBefore(scripts['start:prod'] ?? '', 'pnpm start:prod'),
    readme: flagsBefore(
      read('README.md')
        .split('\n')
        .find((line) => /^node .*main\.js$/.test(line)) ?? '',
      'README.md',
    ),
  };
}
