import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupHarness, tempDir } from './gateway-harness';

const SCRIPT = resolve(__dirname, '../../scripts/start-check-electron.mjs');
// Every run skips the download, so these tests never reach the network.
const offlineEnv = { ...process.env, SYNAPTIC_SKIP_ELECTRON_DOWNLOAD: '1', ELECTRON_OVERRIDE_DIST_PATH: '' };

afterAll(cleanupHarness);

type Found = { found: boolean; path?: string; reason?: string };

/** Calls the script's exported findElectronBinary on `packageDir` in a plain Node process. */
function findIn(packageDir: string | null, env: Record<string, string> = {}): Found {
  const code = `import(${JSON.stringify(SCRIPT)}).then((m) => console.log(JSON.stringify(m.findElectronBinary(${JSON.stringify(packageDir)}, ${JSON.stringify(env)}))))`;
  const run = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: offlineEnv });
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as Found;
}

/** Tells whether this checkout has the Electron binary, without starting a download. */
function realBinaryPresent(): boolean {
  const code = `import(${JSON.stringify(SCRIPT)}).then((m) => console.log(m.findElectronBinary(m.electronPackageDir(), process.env).found))`;
  return spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: offlineEnv }).stdout.trim() === 'true';
}

describe('findElectronBinary', () => {
  it('reports a missing package', () => {
    expect(findIn(null)).toEqual({ found: false, reason: 'the electron npm package is not installed' });
  });

  it('reports a package never downloaded', async () => {
    const dir = await tempDir('synaptic-electron-');
    const result = findIn(dir);
    expect(result.found).toBe(false);
    expect(result.reason).toContain('path.txt is missing');
  });

  it('reports path.txt naming a missing file', async () => {
    const dir = await tempDir('synaptic-electron-');
    await writeFile(join(dir, 'path.txt'), 'electron');
    expect(findIn(dir)).toEqual({ found: false, reason: `${join(dir, 'dist', 'electron')} does not exist` });
  });

  it('finds dist/ and ELECTRON_OVERRIDE_DIST_PATH', async () => {
    const dir = await tempDir('synaptic-electron-');
    await writeFile(join(dir, 'path.txt'), 'electron');
    await mkdir(join(dir, 'dist'));
    await writeFile(join(dir, 'dist', 'electron'), '');
    expect(findIn(dir)).toEqual({ found: true, path: join(dir, 'dist', 'electron') });

    const override = await tempDir('synaptic-electron-dist-');
    expect(findIn(dir, { ELECTRON_OVERRIDE_DIST_PATH: override }).found).toBe(false);
    await writeFile(join(override, 'electron'), '');
    expect(findIn(dir, { ELECTRON_OVERRIDE_DIST_PATH: override })).toEqual({ found: true, path: join(override, 'electron') });
  });
});

describe('npm start without the Electron binary', () => {
  const present = realBinaryPresent();

  it.runIf(present)('check passes when the binary exists', () => {
    const run = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', env: offlineEnv });
    expect(run.status).toBe(0);
  });

  it.runIf(!present)('npm start points to npm run serve', () => {
    // `npm start` stops at the check, before electron-vite builds anything.
    const run = spawnSync('npm', ['start', '--silent'], { encoding: 'utf8', env: offlineEnv, timeout: 60_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('npm start: the Electron binary is not installed');
    expect(run.stderr).toContain('npm run serve');
    expect(run.stderr).not.toContain('Electron failed to install correctly');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stdout).not.toContain('vite');
  });
});
