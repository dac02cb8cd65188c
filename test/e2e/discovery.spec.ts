import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { freePort, startChild, startServe, waitForHttp, type Child } from './processes';

const MODEL_FILE = resolve(process.cwd(), '..', 'shared', 'models', 'llama-2-tiny-random.gguf');
/** A loopback address other than 127.0.0.1, so the scan must walk the range to find the node. */
const NODE_HOST = '127.0.0.7';
/** Only this loopback range is ever scanned by this test. */
const SCAN_CIDR = '127.0.0.0/28';

let workDir: string;
let serve: Child | undefined;
let node: Child | undefined;
let uiUrl: string;
let nodePort: number;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = await mkdtemp(join(tmpdir(), 'synaptic-discovery-e2e-'));
  const modelsDir = join(workDir, 'models');
  await mkdir(modelsDir);
  await symlink(MODEL_FILE, join(modelsDir, 'llama-2-tiny-random.gguf'));

  const started = await startServe(join(workDir, 'data'), ['--models', modelsDir]);
  serve = started.child;

  nodePort = await freePort();
  node = startChild('npm', [
    'run',
    'node',
    '--',
    '--host',
    NODE_HOST,
    '--port',
    String(nodePort),
    '--models',
    modelsDir,
    '--no-ollama-store',
  ]);

  uiUrl = await started.uiUrl;
  await waitForHttp(`http://${NODE_HOST}:${nodePort}/api/version`, node, 120_000);
});

test.afterAll(async () => {
  await node?.stop();
  await serve?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

test('scan finds the node and adds it on request', async ({ page }, testInfo) => {
  const nodeUrl = `http://${NODE_HOST}:${nodePort}`;
  await page.goto(uiUrl);
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
  await page.getByTestId('nav-discovery').click();
  await expect(page.getByTestId('discovery-view')).toBeVisible();

  await page.getByLabel('Address range (CIDR)').fill('127.0.0.0/16');
  await page.getByLabel('Ports (comma-separated)').fill(String(nodePort));
  await page.getByTestId('scan-start').click();
  await expect(page.getByTestId('scan-cidr-error')).toContainText('/22');
  await screenshot(page, testInfo, 'discovery-range-error');

  await page.getByLabel('Address range (CIDR)').fill(SCAN_CIDR);
  await page.getByTestId('scan-start').click();
  await expect(page.getByTestId('scan-cidr-error')).toHaveCount(0);
  await expect(page.getByTestId('scan-progress')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('scan-progress')).toContainText(/(\d+) of \1 probed, [1-9]\d* found/);

  const proposal = page.locator(`[data-testid="proposal"][data-proposal-id="ollama:${NODE_HOST}:${nodePort}"]`);
  await expect(proposal).toBeVisible();
  await expect(proposal.getByTestId('proposal-kind')).toHaveText('Ollama node');
  await expect(proposal.getByTestId('proposal-models')).toContainText('llama-2-tiny-random');
  await expect(proposal.getByTestId('proposal-added')).toHaveCount(0);
  await screenshot(page, testInfo, 'discovery-proposals');

  // The scan proposes the node but never adds it by itself.
  await page.getByTestId('nav-nodes').click();
  await expect(page.getByTestId('nodes-view')).toBeVisible();
  await expect(page.getByTestId('node-card').filter({ hasText: nodeUrl })).toHaveCount(0);

  await page.getByTestId('nav-discovery').click();
  await proposal.getByTestId('proposal-select').check();
  await page.getByTestId('proposals-add').click();
  await expect(proposal.getByTestId('proposal-outcome')).toHaveText(/^Added through/);
  await expect(proposal.getByTestId('proposal-added')).toBeVisible();
  await screenshot(page, testInfo, 'discovery-added');

  await page.getByTestId('nav-nodes').click();
  const card = page.getByTestId('node-card').filter({ hasText: nodeUrl });
  await expect(card).toBeVisible();
  await expect(card.getByTestId('node-health')).toHaveText('up', { timeout: 60_000 });
  await screenshot(page, testInfo, 'nodes-after-discovery');
});

test('settings persist after reload', async ({ page }, testInfo) => {
  await page.goto(uiUrl);
  await page.getByTestId('nav-settings').click();
  const strategy = page.getByLabel('Routing strategy');
  await expect(strategy).toHaveValue('intelligent');
  await strategy.selectOption('least_loaded');
  await expect(page.getByTestId('routing-options-saved')).toContainText('strategy');
  await expect(page.getByTestId('stats-strategy')).toHaveText('least_loaded');

  const row = page.getByTestId('node-settings-row').filter({ hasText: `${NODE_HOST}:${nodePort}` });
  await row.getByTestId('node-parallel-input').fill('2');
  await row.getByTestId('node-gpu-input').fill('7.5');
  await row.getByTestId('node-settings-save').click();
  await expect(row.getByTestId('node-settings-saved')).toBeVisible();

  await page.reload();
  await page.getByTestId('nav-settings').click();
  await expect(page.getByLabel('Routing strategy')).toHaveValue('least_loaded');
  const reloadedRow = page.getByTestId('node-settings-row').filter({ hasText: `${NODE_HOST}:${nodePort}` });
  await expect(reloadedRow.getByTestId('node-parallel-input')).toHaveValue('2');
  await expect(reloadedRow.getByTestId('node-gpu-input')).toHaveValue('7.5');
  await screenshot(page, testInfo, 'settings');

  await page.getByTestId('theme-toggle').click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await screenshot(page, testInfo, 'settings-dark');
  await page.getByTestId('nav-discovery').click();
  await expect(page.getByTestId('scan-progress')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('proposal').first()).toBeVisible();
  await screenshot(page, testInfo, 'discovery-dark');
});
