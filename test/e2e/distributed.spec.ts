import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import type { LlamaBinariesView } from '../../shared/api/distributed';
import { startServe, type Child } from './processes';

const MODEL_FILE = resolve(process.cwd(), '..', 'shared', 'models', 'tiny-llama-8L.gguf');

let workDir: string;
let serve: Child | undefined;
let uiUrl: string;
/** Why the test cannot run here, or null when llama-server and ggml-rpc-server were found. */
let skipReason: string | null = null;
/** True when llama-server comes from the build cache, so `llama:build` finds the cache complete and returns in seconds. */
let cachedBuild = false;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = await mkdtemp(join(tmpdir(), 'synaptic-distributed-e2e-'));
  const started = await startServe(join(workDir, 'data'));
  serve = started.child;
  uiUrl = await started.uiUrl;

  const response = await fetch(new URL('rpc/llama:binaries', uiUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({}),
  });
  const result = (await response.json()) as { ok: boolean; value?: LlamaBinariesView; error?: { message: string } };
  if (!result.ok || !result.value) skipReason = `llama:binaries failed: ${result.error?.message ?? response.status}`;
  else if (!result.value.llamaServer) skipReason = `llama-server is not built (${result.value.hint ?? 'run npm run llama:build'})`;
  else if (!result.value.rpcServer) skipReason = `ggml-rpc-server is not built (${result.value.hint ?? 'run npm run llama:build'})`;
  cachedBuild = result.value?.llamaServer?.source === 'cache';
});

test.afterAll(async () => {
  // Stopping serve closes the distributed service, which stops llama-server and both RPC servers.
  await serve?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

test('distributed model over two local RPC servers', async ({ page }, testInfo) => {
  test.skip(skipReason !== null, skipReason ?? '');
  // Loading took under a second here, but a busy shared machine can be far slower, so the limit is generous.
  test.setTimeout(300_000);
  await page.goto(uiUrl);
  await page.getByTestId('nav-distributed').click();
  await expect(page.getByTestId('distributed-view')).toBeVisible();
  await expect(page.getByTestId('binary-llama-server')).not.toContainText('not found');

  if (cachedBuild) {
    // With a complete cache the build script only verifies the binaries and prints their folder.
    await page.getByTestId('build-start').click();
    await expect(page.getByTestId('build-done')).toContainText('bin', { timeout: 120_000 });
    await expect(page.getByTestId('build-log')).toContainText('cached build');
    await expect(page.getByTestId('build-progress')).toHaveAttribute('value', '100');
  }

  // Two RPC servers on 127.0.0.1, each on a free port the control plane picks.
  const backends = page.getByTestId('rpc-backend');
  await page.getByTestId('rpc-local-threads').fill('1');
  await page.getByTestId('rpc-local-start').click();
  await expect(backends).toHaveCount(1, { timeout: 60_000 });
  await page.getByTestId('rpc-local-start').click();
  await expect(backends).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('rpc-local-error')).toHaveCount(0);
  await expect(backends.getByTestId('rpc-status')).toHaveText(['ok', 'ok'], { timeout: 60_000 });
  await expect(page.getByTestId('rpc-exposed-warning')).toHaveCount(0);
  const endpoints: string[] = [];
  for (const backendRow of await backends.all()) endpoints.push((await backendRow.getAttribute('data-endpoint')) ?? '');
  expect(endpoints).toHaveLength(2);

  const boxes = page.getByTestId('distributed-backend-checkbox');
  await expect(boxes).toHaveCount(2);
  for (const box of await boxes.all()) await expect(box).toBeChecked();

  await page.getByTestId('distributed-model-input').fill(MODEL_FILE);
  await page.getByTestId('distributed-ctx-input').fill('256');
  await page.getByTestId('distributed-start').click();
  const row = page.getByTestId('distributed-model');
  await expect(row).toHaveCount(1, { timeout: 240_000 });
  await expect(page.getByTestId('distributed-start-error')).toHaveCount(0);
  await expect(row.getByTestId('distributed-state')).toHaveText('ready', { timeout: 240_000 });
  for (const endpoint of endpoints) await expect(row.getByTestId('distributed-backends')).toContainText(endpoint);
  await screenshot(page, testInfo, 'distributed-ready');

  await row.getByTestId('distributed-layers-link').click();
  await expect(page.getByTestId('layers-view')).toBeVisible();
  const devices = page.getByTestId('layers-device');
  for (const endpoint of endpoints) {
    await expect(devices.filter({ hasText: `RPC[${endpoint}]` })).toHaveCount(1, { timeout: 60_000 });
  }
  await screenshot(page, testInfo, 'distributed-layers');

  await page.getByTestId('nav-distributed').click();
  await page.getByTestId('distributed-stop').click();
  await expect(page.getByTestId('distributed-empty')).toBeVisible({ timeout: 60_000 });
  // A stopped server's row loses its stop button, so always click the first one left.
  const stopButtons = page.getByTestId('rpc-stop-local');
  for (let left = 2; left > 0; left--) {
    await expect(stopButtons).toHaveCount(left, { timeout: 30_000 });
    await stopButtons.first().click();
  }
  await expect(stopButtons).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId('rpc-row-error')).toHaveCount(0);
});
