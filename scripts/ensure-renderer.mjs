#!/usr/bin/env node
// Builds the renderer into out/renderer when out/renderer/index.html is missing or older than
// any file under renderer/, shared/, the build config or the CSP module that the config imports.
// Exits at once when the build is current.
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'out', 'renderer', 'index.html');
const sources = [
  join(root, 'renderer'),
  join(root, 'shared'),
  join(root, 'electron.vite.config.ts'),
  // The config imports the Content-Security-Policy from here.
  join(root, 'electron', 'control', 'ui-server', 'security.ts'),
];

async function newestMtime(path) {
  let info;
  try {
    info = await stat(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const entry of await readdir(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, await newestMtime(join(path, entry)));
  }
  return newest;
}

async function outputMtime() {
  try {
    return (await stat(output)).mtimeMs;
  } catch {
    return null;
  }
}

const built = await outputMtime();
const newestSource = Math.max(...(await Promise.all(sources.map(newestMtime))));
if (built !== null && built >= newestSource) process.exit(0);

console.log(built === null ? 'Renderer build missing; building it.' : 'Renderer sources changed; rebuilding.');

// Only the renderer part of electron.vite.config.ts is built, so serve mode does not need the
// Electron main process to compile.
const { build } = await import('vite');
const { loadConfigFromFile } = await import('electron-vite');
const { config } = await loadConfigFromFile({ command: 'build', mode: 'production' }, undefined, root);
const renderer = typeof config.renderer === 'function' ? await config.renderer({ command: 'build', mode: 'production' }) : config.renderer;
if (!renderer) {
  console.error('electron.vite.config.ts has no renderer section; cannot build the UI.');
  process.exit(1);
}
try {
  await build({ ...renderer, configFile: false, mode: 'production', logLevel: 'warn', build: { ...renderer.build, emptyOutDir: true } });
} catch (error) {
  console.error(`Renderer build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
console.log(`Renderer built into ${dirname(output)}.`);
