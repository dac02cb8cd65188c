/**
 * Starts a simulated fleet on loopback ports plus the serve-mode app in front of it (gateway,
 * metrics, web UI, steady chat traffic), so routing, placement control and hedging can be watched
 * without real GPUs.
 *
 *   npm run demo -- [--profile home-lab] [--speed 1] [--traffic 0] [--ui-port 0] [--fleet-only] [--quiet]
 *
 * --profile       a name under resources/fleet-profiles or a path to a profile JSON file
 * --speed         simulated milliseconds per real millisecond (1 is real time)
 * --traffic       number of requests to route through ClosedLoopDriver before idling (0 = none)
 * --ui-port       port of the web UI (0, the default, picks a free one)
 * --fleet-only    start only the simulated nodes; add their URLs in the app or with the CLI
 * --quiet         start the app but send no background chat traffic through the gateway
 * --app, --live-traffic  accepted for older scripts; both are the default now
 *
 * Everything stays up until Ctrl+C.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRootLogger } from '../electron/control/core/logger';
import { ClosedLoopDriver } from '../electron/control/sim/driver';
import { bundledProfilePath, startFleet } from '../electron/control/sim/fleet';
import { loadFleetProfile } from '../electron/control/sim/profile';
import { buildWorkload } from '../electron/control/sim/workload';
import { startDemoApp } from './demo-app';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'home-lab' },
      speed: { type: 'string', default: '1' },
      traffic: { type: 'string', default: '0' },
      app: { type: 'boolean', default: false },
      'ui-port': { type: 'string', default: '0' },
      'live-traffic': { type: 'boolean', default: false },
      'fleet-only': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const speed = Number(values.speed);
  const traffic = Number(values.traffic);
  if (!(speed > 0)) throw new Error(`invalid --speed '${values.speed}': expected a positive number`);
  if (!Number.isInteger(traffic) || traffic < 0) throw new Error(`invalid --traffic '${values.traffic}': expected a whole number, 0 or more`);
  const uiPort = Number(values['ui-port']);
  if (!/^\d{1,5}$/.test(values['ui-port']) || uiPort > 65535) throw new Error(`invalid --ui-port '${values['ui-port']}': expected a port from 0 to 65535`);

  const log = createRootLogger().child({ component: 'demo' });
  const profile = await loadFleetProfile(values.profile.endsWith('.json') ? values.profile : bundledProfilePath(values.profile));
  const fleet = await startFleet(profile, { speed });
  log.info({ profile: profile.name, speed }, 'Simulated fleet started');
  for (const node of fleet.nodes) {
    const p = node.engine.profile;
    console.log(`${node.name.padEnd(10)} ${node.url}  GPU ${(p.gpuVramBytes / 1e9).toFixed(0)} GB, ${p.tokensPerSecGpu}/${p.tokensPerSecCpu} tokens/s GPU/CPU, ${p.parallel} slots`);
  }

  if (traffic > 0) {
    const dataDir = await mkdtemp(join(tmpdir(), 'synaptic-demo-'));
    const driver = new ClosedLoopDriver({ fleet, strategy: 'intelligent', controller: true, hedging: true, seed: profile.seed, dataDir, log });
    const items = buildWorkload(traffic, profile.seed, { chat: 'llama3.2:latest', code: 'qwen2.5-coder:7b', embed: 'nomic-embed-text:latest' });
    const records = await driver.run(items, 4);
    for (const record of records) {
      const item = items[record.index];
      console.log(`#${record.index} ${item.path} ${item.model} -> ${record.nodeId ?? 'none'} ${record.ok ? `${(record.latencyMs / 1000).toFixed(2)} s` : `failed: ${record.error}`}${record.hedged ? ' (hedged)' : ''}`);
    }
    await rm(dataDir, { recursive: true, force: true });
  }

  const withApp = !values['fleet-only'];
  const app = withApp ? await startDemoApp(fleet, { uiPort, traffic: !values.quiet }) : null;
  if (app) console.log(`gateway: ${app.gatewayUrl}\nui:      ${app.uiUrl}`);
  console.log(`\n${tryLine(app?.gatewayUrl ?? null, fleet)}\n`);

  const stop = () => {
    log.info('Stopping simulated fleet');
    void (app?.stop() ?? Promise.resolve()).finally(() => fleet.close().then(() => process.exit(0)));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Builds the example request: through the gateway, or straight to one simulated node with --fleet-only. */
function tryLine(gatewayUrl: string | null, fleet: { nodes: Array<{ url: string }>; profile: { models: Array<{ name: string; embeddingOnly?: boolean }> } }): string {
  const model = fleet.profile.models.find((m) => !m.embeddingOnly)?.name ?? 'llama3.2';
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
  if (gatewayUrl) return `Try: curl ${gatewayUrl}/api/chat -d '${body}'`;
  return `Try (one simulated node, no gateway with --fleet-only): curl ${fleet.nodes[0].url}/api/chat -d '${body}'`;
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
