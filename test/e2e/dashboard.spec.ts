import { expect, test, type Page } from '@playwright/test';
import { startChild, waitForOutput, type Child } from './processes';

// The home-lab profile has four nodes: fast-gpu, slow-gpu, cpu-a and cpu-b.
const SIMULATED_NODES = ['fast-gpu', 'slow-gpu', 'cpu-a', 'cpu-b'];
const VIEWS = ['map', 'vram', 'layers', 'latency', 'routing'] as const;

let demo: Child | undefined;
let uiUrl: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  demo = startChild('npm', ['run', 'demo', '--', '--app', '--live-traffic', '--speed', '10']);
  const match = await waitForOutput(demo, /ui:\s+(http:\/\/\S+)/, 200_000);
  uiUrl = match[1];
});

test.afterAll(async () => {
  await demo?.stop();
});

async function openView(page: Page, view: (typeof VIEWS)[number]) {
  await page.getByTestId(`nav-${view}`).click();
  await expect(page.getByTestId(`${view}-view`)).toBeVisible();
}

test('map shows every simulated node', async ({ page }) => {
  await page.goto(uiUrl);
  await openView(page, 'map');
  await expect(page.getByTestId('map-node')).toHaveCount(SIMULATED_NODES.length);
  for (const name of SIMULATED_NODES) {
    await expect(page.locator(`[data-testid="map-node"][aria-label^="${name},"]`)).toBeVisible();
  }
  await expect(page.getByTestId('map-edge-rate').first()).toBeVisible();
});

test('latency charts have points', async ({ page }) => {
  await page.goto(uiUrl);
  await openView(page, 'latency');
  const chart = page.getByTestId('chart-latency');
  await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  await expect(chart.locator('path.chart-line').first()).toBeVisible();
  await expect(page.getByTestId('chart-rate').locator('path.chart-line').first()).toBeVisible();
});

test('clicking a node opens its details', async ({ page }) => {
  await page.goto(uiUrl);
  await openView(page, 'map');
  await page.locator('[data-testid="map-node"][aria-label^="fast-gpu,"]').click();
  const details = page.getByTestId('node-details');
  await expect(details).toBeVisible();
  await expect(details.locator('h3')).toContainText('fast-gpu');
  await expect(details.getByTestId('node-details-stats')).toBeVisible();
  await expect(details.getByTestId('node-details-decisions')).toBeVisible();
});

test('keyboard opens node details', async ({ page }) => {
  await page.goto(uiUrl);
  await openView(page, 'map');
  const first = page.getByTestId('map-node').first();
  await first.focus();
  await expect(first).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('map-node').nth(1)).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-details')).toBeVisible();
  await expect(page.locator('#node-details-heading')).toBeFocused();
});

for (const theme of ['light', 'dark'] as const) {
  test(`screenshots of each view in ${theme} theme`, async ({ page }, testInfo) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(uiUrl);
    const toggle = page.getByTestId('theme-toggle');
    if ((await page.locator('html').getAttribute('data-theme')) !== theme) await toggle.click();
    await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
    for (const view of VIEWS) {
      await openView(page, view);
      if (view === 'latency') await expect(page.getByTestId('chart-latency').locator('path.chart-line').first()).toBeVisible();
      if (view === 'map') await page.getByTestId('map-node').first().click();
      const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
      expect(overflow, `${view} fits 1280 px`).toBeLessThanOrEqual(0);
      const path = testInfo.outputPath(`dashboard-${view}-${theme}.png`);
      await page.screenshot({ path, fullPage: true });
      await testInfo.attach(`${view}-${theme}`, { path, contentType: 'image/png' });
    }
  });
}
