import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { _electron as electron } from 'playwright-core';

/**
 * Path of the Electron binary, or why there is none. The package's own `require('electron')`
 * starts a download when the binary is missing, so its files are read directly here instead.
 */
function electronBinary(): { path: string } | { missing: string } {
  let packageDir: string;
  try {
    packageDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { missing: 'the electron npm package is not installed' };
  }
  const pathFile = join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return { missing: `Electron binary not downloaded (${pathFile} is missing)` };
  const distDir = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(packageDir, 'dist');
  const binary = join(distDir, readFileSync(pathFile, 'utf8').trim());
  if (!existsSync(binary)) return { missing: `Electron binary ${binary} is missing` };
  return { path: binary };
}

test('electron window shows the nodes view', async () => {
  const binary = electronBinary();
  // The list reporter does not print skip reasons, so the reason also goes to the test output.
  if ('missing' in binary) console.log(`electron smoke test skipped: ${binary.missing}`);
  test.skip('missing' in binary, 'missing' in binary ? binary.missing : '');
  const mainBundle = resolve('out', 'main', 'index.js');
  test.skip(!existsSync(mainBundle), `${mainBundle} is missing; run "npx electron-vite build" first`);

  const userData = await mkdtemp(join(tmpdir(), 'synaptic-electron-'));
  const app = await electron.launch({
    executablePath: (binary as { path: string }).path,
    args: ['--no-sandbox', `--user-data-dir=${userData}`, '.'],
  });
  try {
    const window = await app.firstWindow();
    await expect(window.getByTestId('nodes-view')).toBeVisible();
    const bridge = await window.evaluate(async () => {
      const synaptic = (window as unknown as { synaptic?: { invoke(c: string, a: unknown): Promise<{ ok: boolean }> } }).synaptic;
      if (!synaptic) return { exposed: false, listOk: false, rejected: false, ipcRenderer: false };
      const list = await synaptic.invoke('nodes:list', {});
      const bogus = await synaptic.invoke('fs:read', {});
      return { exposed: true, listOk: list.ok, rejected: !bogus.ok, ipcRenderer: 'ipcRenderer' in window };
    });
    expect(bridge).toEqual({ exposed: true, listOk: true, rejected: true, ipcRenderer: false });
  } finally {
    await app.close();
    await rm(userData, { recursive: true, force: true });
  }
});
