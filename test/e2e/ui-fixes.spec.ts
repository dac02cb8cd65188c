import { expect, test, type Locator, type Page } from '@playwright/test';
import { freePort, startChild, waitForOutput, type Child } from './processes';

// Checks in Chromium what happy-dom cannot measure: text boxes, real focus and a real reload.
let demo: Child | undefined;
let uiUrl: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  demo = startChild('npm', ['run', 'demo', '--', '--speed', '10']);
  const match = await waitForOutput(demo, /ui:\s+(http:\/\/\S+)/, 200_000);
  uiUrl = match[1];
});

test.afterAll(async () => {
  await demo?.stop();
});

type Box = { left: number; right: number; top: number; bottom: number };

async function boxesOf(locator: Locator): Promise<Box[]> {
  return locator.evaluateAll((elements) =>
    elements.map((element) => {
      const rect = element.getBoundingClientRect();
      return { left: rect.left, right: rect.right, top: rect.top, bottom: rect.bottom };
    }),
  );
}

function overlaps(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

async function openView(page: Page, view: string) {
  await page.getByTestId(`nav-${view}`).click();
  await expect(page.getByTestId(`${view}-view`)).toBeVisible();
}

test('view survives a reload', async ({ page }) => {
  await page.goto(uiUrl);
  await expect(page.getByTestId('nodes-view')).toBeVisible();
  await openView(page, 'latency');
  await expect(page).toHaveURL(/#\/latency$/);
  await page.reload();
  await expect(page.getByTestId('latency-view')).toBeVisible();
  await page.goBack();
  await expect(page.getByTestId('nodes-view')).toBeVisible();

  await page.goto(`${uiUrl}#/no-such-view`);
  await expect(page.getByTestId('nodes-view')).toBeVisible();
  await expect(page).toHaveURL(/#\/nodes$/);
});

test('latency axis labels fit the chart', async ({ page }) => {
  await page.goto(`${uiUrl}#/latency`);
  const chart = page.getByTestId('chart-latency');
  await expect(chart.locator('path.chart-line').first()).toBeVisible({ timeout: 30_000 });
  for (const id of ['chart-rate', 'chart-latency', 'chart-ttft', 'chart-tokens']) {
    const svg = page.getByTestId(id).locator('svg');
    const [frame] = await boxesOf(svg);
    const labels = await boxesOf(svg.getByTestId('chart-y-label').locator('text'));
    expect(labels.length, id).toBe(3);
    for (const label of labels) expect(label.left, `${id} label starts inside the chart`).toBeGreaterThanOrEqual(frame.left);
  }
});

test('live strip chart is no tab stop', async ({ page }) => {
  await page.goto(uiUrl);
  const svg = page.getByTestId('figures-chart').locator('svg').first();
  await expect(svg).toBeAttached({ timeout: 30_000 });
  expect(await svg.evaluate((element) => (element as unknown as { tabIndex: number }).tabIndex)).toBeLessThan(0);
  expect(await svg.getAttribute('role')).toBeNull();
  const tabStops = await page.getByTestId('figures-chart').evaluate(
    (element) => [...element.querySelectorAll('*')].filter((child) => (child as unknown as { tabIndex: number }).tabIndex >= 0).length,
  );
  expect(tabStops).toBe(0);
});

test('escape closes the add form and the remove confirmation', async ({ page }) => {
  await page.goto(uiUrl);
  await page.getByTestId('add-node-open').click();
  await expect(page.getByTestId('node-url-input')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('add-node-form')).toHaveCount(0);
  await expect(page.getByTestId('add-node-open')).toBeFocused();

  const card = page.getByTestId('node-card').first();
  await card.getByTestId('node-remove').click();
  await expect(card.getByTestId('node-remove-cancel')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(card.getByTestId('node-remove-confirm')).toHaveCount(0);
  await expect(card.getByTestId('node-remove')).toBeFocused();
});

test('RPC backend clears the nodes on the map', async ({ page }, testInfo) => {
  await page.goto(`${uiUrl}#/distributed`);
  await expect(page.getByTestId('distributed-view')).toBeVisible();
  const port = await freePort();
  await page.getByTestId('rpc-endpoint-input').fill(`127.0.0.1:${port}`);
  await page.getByTestId('rpc-add-submit').click();
  await expect(page.getByTestId('rpc-backend')).toHaveCount(1, { timeout: 30_000 });

  await openView(page, 'map');
  await expect(page.getByTestId('map-rpc')).toHaveCount(1);
  const nodeBoxes = await boxesOf(page.getByTestId('map-node').locator('circle, text'));
  const rpcBoxes = await boxesOf(page.getByTestId('map-rpc').locator('rect, text'));
  expect(nodeBoxes.length).toBeGreaterThan(0);
  for (const rpc of rpcBoxes) {
    for (const node of nodeBoxes) expect(overlaps(rpc, node)).toBe(false);
  }
  const path = testInfo.outputPath('map-with-rpc-backend.png');
  await page.getByRole('group', { name: 'Fleet map' }).screenshot({ path });
  await testInfo.attach('map-with-rpc-backend', { path, contentType: 'image/png' });
});
