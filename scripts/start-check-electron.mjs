#!/usr/bin/env node
// Checks that the Electron binary is installed before `npm start` builds and launches the app.
// When it is missing, runs the electron package's own install script once to fetch it, and when
// that fails too, prints one message that points to `npm run serve` and exits with status 1.
// SYNAPTIC_SKIP_ELECTRON_DOWNLOAD=1 skips the fetch (offline machines, tests).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Returns the folder of the installed `electron` npm package, or null when it is not installed. */
export function electronPackageDir(from = fileURLToPath(import.meta.url)) {
  try {
    return dirname(createRequire(from).resolve('electron/package.json'));
  } catch {
    return null;
  }
}

/**
 * Finds the Electron executable the way the electron package's index.js does (path.txt names it
 * inside dist/, ELECTRON_OVERRIDE_DIST_PATH replaces dist/), without starting a download.
 * Returns { found: true, path } or { found: false, reason }.
 */
export function findElectronBinary(packageDir, env = process.env) {
  if (!packageDir) return { found: false, reason: 'the electron npm package is not installed' };
  const pathFile = join(packageDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const path = join(env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron');
    return existsSync(path)
      ? { found: true, path }
      : { found: false, reason: `ELECTRON_OVERRIDE_DIST_PATH is set but ${path} does not exist` };
  }
  if (!relative) return { found: false, reason: `${pathFile} is missing, so the Electron binary was never downloaded` };
  const path = join(packageDir, 'dist', relative);
  return existsSync(path) ? { found: true, path } : { found: false, reason: `${path} does not exist` };
}

/** Runs the electron package's install script, which downloads the binary. Returns its last output line. */
function fetchElectron(packageDir) {
  process.stderr.write('Electron binary not found; trying to download it...\n');
  const result = spawnSync(process.execPath, [join(packageDir, 'install.js')], {
    encoding: 'utf8',
    timeout: 300_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.status === 0) return { ok: true };
  const output = `${result.stderr ?? ''}\n${result.stdout ?? ''}`.split('\n').map((line) => line.trim()).filter(Boolean);
  const detail = result.error?.message ?? output[0] ?? `install script exited with status ${result.status}`;
  return { ok: false, detail };
}

/** Builds the message for a missing Electron binary; it names the reason and the headless alternative. */
export function missingElectronMessage(reason) {
  return [
    `npm start: the Electron binary is not installed (${reason}).`,
    'Run the control plane without Electron instead, with the same gateway and a web UI in the browser:',
    '  npm run serve',
    'To install Electron later, run "node node_modules/electron/install.js" where its download server is reachable.',
  ].join('\n');
}

function main() {
  const packageDir = electronPackageDir();
  let check = findElectronBinary(packageDir);
  if (check.found) return 0;

  let reason = check.reason;
  if (packageDir && process.env.SYNAPTIC_SKIP_ELECTRON_DOWNLOAD !== '1') {
    const fetched = fetchElectron(packageDir);
    check = findElectronBinary(packageDir);
    if (check.found) return 0;
    if (!fetched.ok) reason = `${reason}; the download failed: ${fetched.detail}`;
  }
  process.stderr.write(`${missingElectronMessage(reason)}\n`);
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exit(main());
}
