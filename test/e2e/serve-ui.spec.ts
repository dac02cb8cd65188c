import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { freePort, startChild, startServe, waitForHttp, type Child } from './processes';

const MODEL_FILE = resolve(process.cwd(), '..', 'shared', 'models', 'tiny-llama-8L.gguf');
const NODE_CLI = resolve(process.cwd(), 'electron', 'cli', 'node.ts');

let workDir: string;
let serve: Child | undefined;
let secondNode: Child | undefined;
let uiUrl: string;
let secondNodeUrl: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = await mkdtemp(join(tmpdir(), 'synaptic-e2e-'));
  const modelsDir = join(workDir, 'models');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(modelsDir);
  await symlink(MODEL_FILE, join(modelsDir, 'tiny-llama-8L.gguf'));
  // The random-weight test model never closes its JSON, so each reply runs to num_predict:
  // short replies keep the three-step chat to seconds instead of minutes.
  const dataDir = join(workDir, 'data');
  await mkdir(dataDir);
  const short = { options: { num_predict: 24 } };
  await writeFile(
    join(dataDir, 'agents.json'),
    JSON.stringify({ researcher: short, critic: short, editor: short }),
  );

  const started = await startServe(join(workDir, 'data'), ['--models', modelsDir]);
  serve = started.child;
  uiUrl = await started.uiUrl;

  if (existsSync(NODE_CLI)) {
    const port = await freePort();
    secondNodeUrl = `http://127.0.0.1:${port}`;
    secondNode = startChild('npm', ['run', 'node', '--', '--port', String(port), '--models', modelsDir]);
    await waitForHttp(`${secondNodeUrl}/api/version`, secondNode, 120_000);
  }
});

test.afterAll(async () => {
  await secondNode?.stop();
  await serve?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

test('page loads without CSP violations', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  const response = await page.goto(uiUrl);
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  await expect(page.getByTestId('nodes-view')).toBeVisible();
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
  expect(violations).toEqual([]);
});

test('keyboard reaches the views and the theme toggle', async ({ page }, testInfo) => {
  await page.goto(uiUrl);
  await expect(page.getByTestId('nodes-view')).toBeVisible();
  await page.keyboard.press('Tab');
  await expect(page.getByText('Skip to content')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('nav-nodes')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('nav-chat')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('chat-view')).toBeVisible();

  const before = await page.locator('html').getAttribute('data-theme');
  await page.getByTestId('theme-toggle').focus();
  await page.keyboard.press('Enter');
  const after = await page.locator('html').getAttribute('data-theme');
  expect(after).not.toBe(before);
  await page.screenshot({ path: testInfo.outputPath(`chat-${after}.png`) });
});

test('adds a node through the form', async ({ page }, testInfo) => {
  test.skip(!existsSync(NODE_CLI), `no second node to add: ${NODE_CLI} does not exist yet`);
  await page.goto(uiUrl);

  await page.getByTestId('add-node-open').click();
  await page.getByLabel('Node URL').fill('not a url');
  await page.getByTestId('add-node-submit').click();
  await expect(page.getByTestId('add-node-error')).toBeVisible();
  await expect(page.getByTestId('add-node-error')).toContainText('not a url');

  await page.getByLabel('Node URL').fill(secondNodeUrl);
  await page.getByTestId('add-node-submit').click();
  const card = page.getByTestId('node-card').filter({ hasText: secondNodeUrl });
  await expect(card).toBeVisible();
  await expect(card.getByTestId('node-health')).toHaveText('up', { timeout: 60_000 });
  await expect(card.getByTestId('node-models')).toContainText('tiny');
  const nodesShot = testInfo.outputPath('nodes.png');
  await page.screenshot({ path: nodesShot, fullPage: true });
  await testInfo.attach('nodes', { path: nodesShot, contentType: 'image/png' });
});

test('chat pipeline shows three steps and survives reload', async ({ page }, testInfo) => {
  // Three generations on a CPU that other processes share can take minutes.
  test.setTimeout(420_000);
  await page.goto(uiUrl);
  await page.getByTestId('nav-chat').click();

  const modelSelect = page.getByLabel('Model', { exact: true });
  await expect(modelSelect.locator('option[value*="tiny"]').first()).toBeAttached({ timeout: 60_000 });
  const model = await modelSelect.locator('option[value*="tiny"]').first().getAttribute('value');
  await modelSelect.selectOption(model!);
  await page.getByLabel('Mode', { exact: true }).selectOption('pipeline');
  await page.getByLabel('Question').fill('Name one colour.');
  await page.getByTestId('chat-send').click();

  // A failed send shows chat-error at once; stop there with its message instead of timing out.
  const steps = page.getByTestId('agent-step');
  await expect(steps.or(page.getByTestId('chat-error')).first()).toBeVisible({ timeout: 60_000 });
  const chatError = page.getByTestId('chat-error');
  const errorText = (await chatError.count()) > 0 ? await chatError.textContent() : null;
  expect(errorText, 'error shown after Send').toBeNull();
  await expect(steps).toHaveCount(3, { timeout: 360_000 });
  await expect(page.locator('[data-testid="agent-step"][data-status="done"]')).toHaveCount(3, { timeout: 360_000 });
  for (let index = 0; index < 3; index += 1) {
    await expect(steps.nth(index).getByTestId('agent-step-node')).not.toHaveText('on unassigned');
    await expect(steps.nth(index).getByTestId('agent-step-latency')).toHaveText(/\d+(\.\d)? (ms|s)/);
  }
  await expect(page.getByTestId('conversation-item')).toHaveCount(1);
  const chatShot = testInfo.outputPath('chat.png');
  await page.screenshot({ path: chatShot, fullPage: true });
  await testInfo.attach('chat', { path: chatShot, contentType: 'image/png' });

  await page.reload();
  await page.getByTestId('nav-chat').click();
  await page.getByTestId('conversation-item').first().click();
  await expect(page.getByTestId('chat-question')).toContainText('Name one colour.');
  await expect(page.getByTestId('agent-step')).toHaveCount(3);
});

test('routing view lists the chat requests', async ({ page }) => {
  await page.goto(uiUrl);
  await page.getByTestId('nav-routing').click();
  await expect(page.getByTestId('route-row').first()).toBeVisible();
  await expect(page.getByTestId('route-reason').first()).not.toBeEmpty();
});
