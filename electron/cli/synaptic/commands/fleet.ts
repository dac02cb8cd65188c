import type { LiveFigures, NodeView } from '../../../../shared/types';
import type { SystemInfo } from '../../../../shared/api/system';
import { call, type CommandContext, type CommandOutput, type CommandSpec } from '../context';
import { CliError, EXIT_FAILURE, usageError } from '../errors';
import { formatMs, formatTable } from '../table';

function nodeRows(nodes: NodeView[]) {
  return nodes.map((node) => [
    node.name,
    node.url,
    node.kind,
    node.health,
    node.models.length,
    node.inFlight,
    formatMs(node.ewmaLatencyMs),
  ]);
}

export const nodesCommand: CommandSpec = {
  name: 'nodes',
  usage: 'nodes',
  summary: 'List the nodes in the fleet with their health and models',
  minArgs: 0,
  maxArgs: 0,
  async run(context) {
    const nodes = await call<NodeView[]>(context, 'nodes:list');
    const text =
      nodes.length === 0
        ? 'No nodes. Add one with "synaptic add http://HOST:11434" or find some with "synaptic discover CIDR".'
        : formatTable(['NAME', 'URL', 'KIND', 'HEALTH', 'MODELS', 'IN-FLIGHT', 'LATENCY'], nodeRows(nodes));
    return { json: nodes, text };
  },
};

export const addCommand: CommandSpec = {
  name: 'add',
  usage: 'add URL [--name NAME]',
  summary: 'Add an Ollama node, e.g. http://192.168.1.20:11434',
  details: ['--name NAME   display name (default: host:port)'],
  options: { name: { type: 'string' } },
  minArgs: 1,
  maxArgs: 1,
  async run(context) {
    const [url] = context.positionals;
    const name = context.values.name as string | undefined;
    const node = await call<NodeView>(context, 'nodes:add', name === undefined ? { url } : { url, name });
    return { json: node, text: `Added ${node.name} (${node.url}), health ${node.health}.` };
  },
};

/** Finds a node by id or URL; URLs compare without a trailing slash and case-insensitively. */
export function findNode(nodes: NodeView[], key: string): NodeView | undefined {
  const wanted = key.trim().replace(/\/+$/, '').toLowerCase();
  return nodes.find(
    (node) => node.id === key || node.url.replace(/\/+$/, '').toLowerCase() === wanted || node.name === key,
  );
}

export const removeCommand: CommandSpec = {
  name: 'remove',
  usage: 'remove URL|ID',
  summary: 'Remove a node from the fleet',
  minArgs: 1,
  maxArgs: 1,
  async run(context) {
    const [key] = context.positionals;
    const nodes = await call<NodeView[]>(context, 'nodes:list');
    const node = findNode(nodes, key);
    if (!node) throw new CliError(`no node with URL or id '${key}'; run "synaptic nodes" to list them`);
    const result = await call<{ removed: boolean }>(context, 'nodes:remove', { id: node.id });
    return { json: { id: node.id, url: node.url, ...result }, text: `Removed ${node.name} (${node.url}).` };
  },
};

export const healthCommand: CommandSpec = {
  name: 'health',
  usage: 'health',
  summary: 'Check every node now; exits 1 when any node is down',
  minArgs: 0,
  maxArgs: 0,
  async run(context): Promise<CommandOutput> {
    const info = await call<SystemInfo>(context, 'system:info');
    const listed = await call<NodeView[]>(context, 'nodes:list');
    const nodes: NodeView[] = [];
    for (const node of listed) nodes.push(await call<NodeView>(context, 'nodes:check', { id: node.id }));

    const down = nodes.filter((node) => node.health === 'down');
    const gateway = info.gateway.listening
      ? `Gateway listening on ${info.gateway.host}:${info.gateway.port}`
      : `Gateway not listening: ${info.gateway.message}`;
    const table = formatTable(
      ['NAME', 'URL', 'HEALTH', 'VERSION', 'LAST ERROR'],
      nodes.map((node) => [node.name, node.url, node.health, node.version, node.lastError]),
    );
    const text = nodes.length === 0 ? `${gateway}\nNo nodes in the fleet.` : `${gateway}\n${table}`;
    return {
      json: { gateway: info.gateway, nodes, down: down.map((node) => node.id) },
      text,
      exitCode: down.length > 0 ? EXIT_FAILURE : 0,
    };
  },
};

export const metricsCommand: CommandSpec = {
  name: 'metrics',
  usage: 'metrics',
  summary: 'Show request counts and latency percentiles per node',
  minArgs: 0,
  maxArgs: 0,
  async run(context) {
    const figures = await call<LiveFigures>(context, 'stats:figures');
    const table = formatTable(
      ['NODE', 'REQUESTS', 'ERRORS', 'P50', 'P95', 'IN-FLIGHT'],
      figures.nodes.map((node) => [
        node.nodeName,
        node.requests,
        node.errors,
        formatMs(node.p50LatencyMs),
        formatMs(node.p95LatencyMs),
        node.inFlight,
      ]),
    );
    const text = `${figures.totalRequests} requests in all (as of ${figures.at})\n${figures.nodes.length > 0 ? table : 'No nodes.'}`;
    return { json: figures, text };
  },
};

export function requireWord(word: string | undefined, allowed: string[], what: string): string {
  if (word === undefined || !allowed.includes(word)) {
    throw usageError(`invalid ${what} '${word ?? ''}': expected ${allowed.join(' or ')}`);
  }
  return word;
}
