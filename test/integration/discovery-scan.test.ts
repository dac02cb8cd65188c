import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanProgress } from '../../shared/api/discovery';
import { ApiRegistry } from '../../electron/control/core/api-registry';
import { createSilentLogger } from '../../electron/control/core/logger';
import { EventBus } from '../../electron/control/core/event-bus';
import { NodeRegistry } from '../../electron/control/nodes/registry';
import { startEmbeddedNode } from '../../electron/control/embedded';
import { registerDiscoveryApi } from '../../electron/control/discovery/api';
import { parseCidr, rangeContains } from '../../electron/control/discovery/cidr';
import { DiscoveryService } from '../../electron/control/discovery/service';
import { probeTcp, type TcpProbe } from '../../electron/control/discovery/tcp-probe';
import {
  startBlackholes,
  startHalfOllama,
  startOllamaShaped,
  startPlainHttp,
  startSilentTcp,
  type TestHost,
} from './discovery-hosts';

const SCAN_CIDR = '127.0.0.0/27';
const MODELS_DIR = resolve(__dirname, '../../../shared/models');
const log = createSilentLogger();

describe('discovery scan on loopback', () => {
  const hosts: TestHost[] = [];
  const closers: Array<() => Promise<void>> = [];
  const touchedHosts: string[] = [];
  const fetchedUrls: string[] = [];
  let ollamaPort = 0;
  let rpcPort = 0;
  let api: ApiRegistry;
  let service: DiscoveryService;
  let nodes: NodeRegistry;
  const progress: ScanProgress[] = [];

  const recordingProbe: TcpProbe = (host, port, timeoutMs, signal) => {
    touchedHosts.push(host);
    return probeTcp(host, port, timeoutMs, signal);
  };
  const recordingFetch: typeof fetch = (input, init) => {
    fetchedUrls.push(String(input));
    return fetch(input, init);
  };

  beforeAll(async () => {
    // A real embedded node (node-llama-cpp) serving the two test models sets the port; the
    // other services bind the same port on other loopback addresses.
    const embedded = await startEmbeddedNode({ host: '127.0.0.5', port: 0, modelsDir: MODELS_DIR, ollamaStoreDirs: false });
    ollamaPort = embedded.port;
    hosts.push({ host: '127.0.0.5', port: embedded.port, close: () => embedded.close() });
    hosts.push(await startOllamaShaped('127.0.0.12', ollamaPort, ['a:1b', 'b:latest']));
    hosts.push(await startPlainHttp('127.0.0.9', ollamaPort));
    hosts.push(await startHalfOllama('127.0.0.14', ollamaPort));
    hosts.push(await startSilentTcp('127.0.0.25', ollamaPort));
    const rpc = await startSilentTcp('127.0.0.20', 0);
    rpcPort = rpc.port;
    hosts.push(rpc);
    const blackhole = await startBlackholes(ollamaPort, ['127.0.0.27', '127.0.1.1', '127.0.1.2', '127.0.1.3']);
    closers.push(blackhole.close);

    const bus = new EventBus();
    bus.on('discovery:progress', (payload) => progress.push(payload as ScanProgress));
    api = new ApiRegistry(log);
    nodes = new NodeRegistry(null, bus, log);
    api.handle('nodes:add', (args) => nodes.add(args));
    api.handle('nodes:list', () => nodes.list());
    service = new DiscoveryService({
      log,
      events: bus,
      api,
      deps: { probe: recordingProbe, fetch: recordingFetch },
      progressIntervalMs: 10,
    });
    registerDiscoveryApi(api, service);
  });

  afterAll(async () => {
    await service?.stop();
    nodes?.stop();
    for (const host of hosts) await host.close();
    for (const close of closers) await close();
  });

  it('scan finds Ollama, rejects impostors, stays in range', async () => {
    touchedHosts.length = 0;
    fetchedUrls.length = 0;
    const started = performance.now();
    const scan = await api.invoke('discovery:scan', {
      cidr: SCAN_CIDR,
      ports: [ollamaPort, rpcPort],
      rpcPorts: [rpcPort],
      timeoutMs: 300,
      // The embedded node's first /api/tags reads both GGUF files and takes about 500 ms here.
      fingerprintTimeoutMs: 1500,
    });
    expect(scan.ok).toBe(true);
    if (!scan.ok) return;
    const { scanId, total } = scan.value as { scanId: string; total: number };
    expect(total).toBe(30 * 2);

    const view = await service.wait(scanId);
    const elapsedMs = performance.now() - started;

    expect(view.state).toBe('done');
    expect(view.probed).toBe(60);
    const ids = view.proposals.map((proposal) => proposal.id);
    expect(ids).toEqual([
      `ollama:127.0.0.5:${ollamaPort}`,
      `ollama:127.0.0.12:${ollamaPort}`,
      `rpc:127.0.0.20:${rpcPort}`,
    ]);
    const embedded = view.proposals[0];
    expect(embedded.verified).toBe(true);
    expect(embedded.version).toBe('0.12.0');
    expect(embedded.models).toEqual(['llama-2-tiny-random:latest', 'tiny-llama-8L:latest']);
    const twelve = view.proposals[1];
    expect(twelve.verified).toBe(true);
    expect(twelve.version).toBe('0.12.3');
    expect(twelve.models).toEqual(['a:1b', 'b:latest']);
    expect(twelve.address).toBe(`http://127.0.0.12:${ollamaPort}`);
    const rpc = view.proposals[2];
    expect(rpc.verified).toBe(false);
    expect(rpc.detail).toBe('port open, not verified');

    const rejected = new Map(view.rejected.map((entry) => [entry.host, entry.reason]));
    expect(rejected.get('127.0.0.9')).toContain('did not return JSON');
    expect(rejected.get('127.0.0.14')).toContain("/api/tags is not Ollama's shape");
    expect(rejected.get('127.0.0.25')).toContain('timed out after 1500 ms');
    expect(rejected.has('127.0.0.27')).toBe(false);

    // The blackholed port costs one 300 ms connect timeout and the silent server one 1500 ms
    // fingerprint timeout. Both run in parallel, so the scan ends well under 3 s.
    expect(elapsedMs).toBeLessThan(3000);

    const range = parseCidr(SCAN_CIDR);
    if (!range.ok) throw new Error(range.message);
    expect(touchedHosts).toHaveLength(60);
    expect(touchedHosts.every((host) => rangeContains(range.range, host))).toBe(true);
    expect(fetchedUrls.length).toBeGreaterThan(0);
    for (const url of fetchedUrls) {
      expect(rangeContains(range.range, new URL(url).hostname)).toBe(true);
    }

    const last = progress.filter((entry) => entry.id === scanId).at(-1);
    expect(last?.state).toBe('done');
    expect(last?.probed).toBe(60);
    expect(last?.found).toBe(3);
  });

  it('closed and blackholed ports end within the timeout', async () => {
    const closed = await probeTcp('127.0.0.3', ollamaPort, 300);
    expect(closed.kind).toBe('refused');

    const started = performance.now();
    const dropped = await probeTcp('127.0.0.27', ollamaPort, 300);
    const elapsedMs = performance.now() - started;
    expect(dropped.kind).toBe('timeout');
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(600);
  });

  it('rpc device check marks a port verified', async () => {
    const checked: string[] = [];
    const withCheck = new DiscoveryService({
      log,
      events: new EventBus(),
      api,
      checkRpc: async (hostPort) => {
        checked.push(hostPort);
        return { verified: true, detail: 'rpc-server, 1 device, 512 MiB free' };
      },
    });
    const { scanId } = withCheck.startScan({ cidr: '127.0.0.20/32', ports: [rpcPort], rpcPorts: [rpcPort] });
    const view = await withCheck.wait(scanId);
    expect(checked).toEqual([`127.0.0.20:${rpcPort}`]);
    expect(view.proposals[0].verified).toBe(true);
    expect(view.proposals[0].detail).toBe('rpc-server, 1 device, 512 MiB free');
  });

  it('a /21 is rejected with advice', async () => {
    const result = await api.invoke('discovery:scan', { cidr: '127.0.0.0/21' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('invalid_argument');
    expect(result.error.message).toContain('2048 addresses');
    expect(result.error.message).toContain('/22 or smaller');
  });

  it('bad scan arguments name the value', async () => {
    const port = await api.invoke('discovery:scan', { cidr: '127.0.0.0/30', ports: [70000] });
    expect(port.ok).toBe(false);
    if (!port.ok) expect(port.error.message).toContain('ports.0: port must be 1-65535');
    const cidr = await api.invoke('discovery:scan', { cidr: 'not-an-ip' });
    expect(cidr.ok).toBe(false);
    if (!cidr.ok) expect(cidr.error.message).toContain("'not-an-ip' is not an IPv4 address");
    const missing = await api.invoke('discovery:results', { scanId: 'nope' });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.code).toBe('not_found');
  });

  it('cancel stops a scan mid-way', async () => {
    // Three blackholed hosts at concurrency 1 need about 900 ms; cancel after the first.
    const { scanId, total } = service.startScan({
      cidr: '127.0.1.0/28',
      ports: [ollamaPort],
      concurrency: 1,
      timeoutMs: 300,
    });
    expect(total).toBe(14);
    await new Promise((resolve) => setTimeout(resolve, 450));
    const cancelled = await api.invoke('discovery:cancel', { scanId });
    expect(cancelled).toEqual({ ok: true, value: { cancelled: true } });

    const started = performance.now();
    const view = await service.wait(scanId);
    expect(performance.now() - started).toBeLessThan(100);
    expect(view.state).toBe('cancelled');
    expect(view.probed).toBeGreaterThanOrEqual(1);
    expect(view.probed).toBeLessThan(total);

    const again = await api.invoke('discovery:cancel', { scanId });
    expect(again).toEqual({ ok: true, value: { cancelled: false } });
  });

  it('add puts selected proposals in the fleet', async () => {
    const { scanId } = service.startScan({ cidr: '127.0.0.12/32', ports: [ollamaPort] });
    await service.wait(scanId);
    expect(nodes.list()).toHaveLength(0);

    const result = await api.invoke('discovery:add', {
      scanId,
      ids: [`ollama:127.0.0.12:${ollamaPort}`, 'ollama:127.0.0.99:1'],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const outcomes = result.value as Array<{ id: string; ok: boolean; error?: string }>;
    expect(outcomes[0].ok).toBe(true);
    expect(outcomes[1].ok).toBe(false);
    expect(outcomes[1].error).toContain("no proposal 'ollama:127.0.0.99:1'");
    expect(nodes.list().map((node) => node.url)).toEqual([`http://127.0.0.12:${ollamaPort}`]);
  });

  it('local discovery adds only an Ollama on this machine', async () => {
    const local = new DiscoveryService({
      log,
      events: new EventBus(),
      api,
      env: { OLLAMA_HOST: `127.0.0.5:${ollamaPort}` },
      localDefault: { host: '127.0.0.9', port: ollamaPort },
      isSelf: (host) => host === '127.0.0.200',
    });
    const result = await local.discoverLocal();
    expect(result.proposals.map((proposal) => proposal.source)).toEqual(['OLLAMA_HOST']);
    expect(result.added.map((outcome) => outcome.ok)).toEqual([true]);
    expect(result.rejected.map((entry) => entry.host)).toEqual(['127.0.0.9']);
    expect(nodes.findByUrl(`http://127.0.0.5:${ollamaPort}`)).toBeDefined();

    const again = await local.discoverLocal();
    expect(again.added).toEqual([]);
  });
});
