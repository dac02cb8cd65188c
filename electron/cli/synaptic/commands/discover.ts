import type { AddOutcome, ScanView } from '../../../../shared/api/discovery';
import { parseIntegerFlag, parsePortList } from '../command-line';
import { call, stringFlag, type CommandSpec } from '../context';
import { formatMs, formatTable } from '../table';

const POLL_INTERVAL_MS = 200;

export const discoverCommand: CommandSpec = {
  name: 'discover',
  usage: 'discover CIDR [--ports 11434,50052] [--rpc-ports 50052] [--concurrency 64] [--timeout 300] [--add]',
  summary: 'Scan an IPv4 range (at most a /22) for Ollama nodes and llama.cpp rpc-servers',
  details: [
    '--ports LIST        ports to probe (default 11434,50052)',
    '--rpc-ports LIST    ports probed as rpc-server rather than Ollama (default 50052)',
    '--concurrency N     connections open at once (default 64)',
    '--timeout MS        TCP connect timeout in milliseconds (default 300)',
    '--add               add every service found; without it results are only listed',
  ],
  options: {
    ports: { type: 'string' },
    'rpc-ports': { type: 'string' },
    concurrency: { type: 'string' },
    timeout: { type: 'string' },
    add: { type: 'boolean' },
  },
  minArgs: 1,
  maxArgs: 1,
  async run(context) {
    const [cidr] = context.positionals;
    const request: Record<string, unknown> = { cidr };
    const ports = stringFlag(context, 'ports');
    const rpcPorts = stringFlag(context, 'rpc-ports');
    const concurrency = stringFlag(context, 'concurrency');
    const timeout = stringFlag(context, 'timeout');
    if (ports !== undefined) request.ports = parsePortList('ports', ports);
    if (rpcPorts !== undefined) request.rpcPorts = parsePortList('rpc-ports', rpcPorts);
    if (concurrency !== undefined) request.concurrency = parseIntegerFlag('concurrency', concurrency, 1, 256);
    if (timeout !== undefined) request.timeoutMs = parseIntegerFlag('timeout', timeout, 20, 10_000);

    const { scanId, total } = await call<{ scanId: string; total: number }>(context, 'discovery:scan', request);
    context.notice(`Scanning ${cidr}: ${total} address and port pairs...`);

    const onAbort = () => void call(context, 'discovery:cancel', { scanId }).catch(() => undefined);
    context.signal.addEventListener('abort', onAbort, { once: true });
    let view: ScanView;
    try {
      view = await pollUntilFinished(context, scanId);
    } finally {
      context.signal.removeEventListener('abort', onAbort);
    }

    let added: AddOutcome[] = [];
    if (context.values.add === true && view.proposals.length > 0) {
      added = await call<AddOutcome[]>(context, 'discovery:add', {
        scanId,
        ids: view.proposals.map((proposal) => proposal.id),
      });
    }
    return { json: { ...view, added }, text: formatScan(view, added), exitCode: view.state === 'failed' ? 1 : 0 };
  },
};

async function pollUntilFinished(context: Parameters<CommandSpec['run']>[0], scanId: string): Promise<ScanView> {
  for (;;) {
    const [view] = await call<ScanView[]>(context, 'discovery:results', { scanId });
    if (view.state !== 'running') return view;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

function formatScan(view: ScanView, added: AddOutcome[]): string {
  const lines = [`Scan of ${view.cidr} ${view.state}: ${view.probed} of ${view.total} probed.`];
  if (view.error) lines.push(`Error: ${view.error}`);
  if (view.proposals.length === 0) {
    lines.push('Nothing found.');
  } else {
    lines.push(
      formatTable(
        ['ID', 'KIND', 'ADDRESS', 'VERIFIED', 'LATENCY', 'DETAIL'],
        view.proposals.map((proposal) => [
          proposal.id,
          proposal.kind,
          proposal.address,
          proposal.verified ? 'yes' : 'no',
          formatMs(proposal.latencyMs),
          proposal.detail,
        ]),
      ),
    );
  }
  for (const rejection of view.rejected) {
    lines.push(`Not a node: ${rejection.host}:${rejection.port}: ${rejection.reason}`);
  }
  for (const outcome of added) {
    lines.push(outcome.ok ? `Added ${outcome.id}` : `Could not add ${outcome.id}: ${outcome.error}`);
  }
  if (added.length === 0 && view.proposals.length > 0) lines.push('Add them with --add, or one by one with "synaptic add URL".');
  return lines.join('\n');
}
