import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { freePort, startChild, waitForOutput, type Child } from './processes';

const TOKEN = 'e2e-token-0123456789abcdefghij';

let workDir: string;
let serve: Child | undefined;
let uiUrl: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(180_000);
  workDir = await mkdtemp(join(tmpdir(), 'synaptic-e2e-token-'));
  serve = startChild(
    'npm',
    ['run', 'serve', '--', '--data', join(workDir, 'data'), '--port', String(await freePort()), '--ui-port', String(await freePort()), '--no-embedded'],
    { SYNAPTIC_TOKEN: TOKEN },
  );
  const match = await waitForOutput(serve, /ui:\s+(http:\/\/\S+)/, 150_000);
  uiUrl = match[1];
});

test.afterAll(async () => {
  await serve?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

test('page without the token is rejected', async ({ page }) => {
  const response = await page.goto(uiUrl);
  expect(response?.status()).toBe(401);
  expect(await page.content()).not.toContain(TOKEN);
});

test('page with ?token= connects and survives reload', async ({ page }) => {
  await page.goto(`${uiUrl}?token=${TOKEN}`);
  await expect(page.getByTestId('nodes-view')).toBeVisible();
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
  expect(page.url()).not.toContain('token=');

  await page.reload();
  await expect(page.getByTestId('nodes-view')).toBeVisible();
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
  await page.getByTestId('add-node-open').click();
  await page.getByLabel('Node URL').fill('ftp://nowhere');
  await page.getByTestId('add-node-submit').click();
  await expect(page.getByTestId('add-node-error')).toContainText('ftp://nowhere');
});

test('new tab in the same browser needs no token in the URL', async ({ page, context }) => {
  await page.goto(`${uiUrl}?token=${TOKEN}`);
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');

  const second = await context.newPage();
  await second.goto(uiUrl);
  await expect(second.getByTestId('nodes-view')).toBeVisible();
  await expect(second.getByTestId('connection-state')).toHaveText('Connected');
  await expect(second.getByTestId('nodes-empty').or(second.getByTestId('node-card').first())).toBeVisible();
  const listed = await second.evaluate(async () => {
    const response = await fetch('/rpc/nodes:list', { method: 'POST' });
    return response.status;
  });
  expect(listed).toBe(200);
});
