import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ollama } from 'ollama';
import { EventBus } from '../electron/control/core/event-bus';
import { createRootLogger, type Logger } from '../electron/control/core/logger';
import { createLogLineStream, createMetrics, registerMetricsApi } from '../electron/control/metrics';
import { ControlPlane } from '../electron/control/plane';
import type { SimFleet } from '../electron/control/sim/fleet';
import { startUiServer } from '../electron/control/ui-server';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export type DemoApp = { uiUrl: string; gatewayUrl: string; stop(): Promise<void> };

/**
 * Starts the serve-mode app (control plane, metrics, web UI) on free loopback ports with every
 * simulated node added, and, when `traffic` is set, keeps sending short chat requests through
 * the gateway so that the dashboard has live data.
 */
export async function startDemoApp(fleet: SimFleet, options: { uiPort: number; traffic: boolean; dataDir?: string }): Promise<DemoApp> {
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'ensure-renderer.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('building the renderer failed; run `npm run build` to see why');

  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'synaptic-demo-app-')));
  // The plane's bus is created by the plane, so log lines go through a forwarding bus first.
  const logBus = new EventBus();
  const log = createRootLogger({ destination: createLogLineStream(logBus) });
  const plane = new ControlPlane({ dataDir, port: 0, discoverLocal: false, embedded: false, log, figuresIntervalMs: 1_000 });
  logBus.subscribe((type, payload) => plane.bus.emit(type as 'log:line', payload as never));
  const metrics = createMetrics({ bus: plane.bus, log: log.child({ component: 'metrics' }), dataDir });
  registerMetricsApi(plane.api, metrics);
  await metrics.start();
  plane.attach({ name: 'metrics', stop: () => metrics.stop() });
  await plane.start();

  for (const node of fleet.nodes) {
    await plane.nodes.add({ url: node.url, name: node.name, gpuVramBytes: node.engine.profile.gpuVramBytes || undefined }, { kind: 'simulated', persist: false });
  }
  const ui = await startUiServer({ api: plane.api, bus: plane.bus, port: options.uiPort, staticDir: join(root, 'out', 'renderer'), log: log.child({ component: 'ui-server' }) });
  plane.attach({ name: 'UI server', stop: () => ui.close() });
  plane.reserveOwnPort(ui.port, 'the web UI');
  const gatewayUrl = plane.gateway.url();
  if (!gatewayUrl) throw new Error(`the gateway is not listening: ${plane.gateway.status().message}`);

  const traffic = options.traffic ? startTraffic(gatewayUrl, fleet, log.child({ component: 'demo-traffic' })) : null;
  return {
    uiUrl: ui.url,
    gatewayUrl,
    async stop() {
      await traffic?.stop();
      await plane.stop();
    },
  };
}

/** Sends chat requests from three concurrent loops, each pausing 200 ms between requests. */
function startTraffic(gatewayUrl: string, fleet: SimFleet, log: Logger): { stop(): Promise<void> } {
  const controller = new AbortController();
  const models = fleet.profile.models.filter((m) => !m.embeddingOnly).map((m) => m.name);
  const loop = async (worker: number) => {
    const client = new Ollama({ host: gatewayUrl });
    for (let i = 0; !controller.signal.aborted; i++) {
      const model = models[(worker + i) % models.length];
      try {
        const stream = await client.chat({ model, stream: true, messages: [{ role: 'user', content: `demo request ${worker}.${i}` }], options: { num_predict: 12 } });
        for await (const part of stream) {
          if (controller.signal.aborted) {
            stream.abort();
            break;
          }
          void part;
        }
      } catch (error) {
        if (!controller.signal.aborted) log.warn({ err: (error as Error).message, model }, 'Demo request failed');
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const loops = [0, 1, 2].map((worker) => loop(worker));
  return {
    async stop() {
      controller.abort();
      await Promise.allSettled(loops);
    },
  };
}
