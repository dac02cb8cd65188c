import type { DistributedModelView, RpcBackendView } from '../../../../shared/api/distributed';
import { parseIntegerFlag } from '../command-line';
import { call, stringFlag, type CommandSpec } from '../context';
import { CliError, usageError } from '../errors';
import { formatTable } from '../table';
import { requireWord } from './fleet';

function backendRows(backends: RpcBackendView[]) {
  return backends.map((backend) => [
    backend.endpoint,
    backend.status,
    backend.devices.length,
    backend.devices.reduce((sum, device) => sum + device.freeMiB, 0) + ' MiB',
    backend.reason,
  ]);
}

export const rpcCommand: CommandSpec = {
  name: 'rpc',
  usage: 'rpc add HOST:PORT | rpc remove HOST:PORT | rpc list',
  summary: 'Register or remove a llama.cpp rpc-server backend, or list them with their device check',
  subcommands: ['add', 'remove', 'list'],
  options: { name: { type: 'string' } },
  details: ['--name NAME   display name for "rpc add"'],
  minArgs: 1,
  maxArgs: 2,
  async run(context) {
    const action = requireWord(context.positionals[0], ['add', 'remove', 'list'], 'rpc action');
    if (action === 'list') {
      if (context.positionals.length > 1) throw usageError(`unexpected argument '${context.positionals[1]}' after "rpc list"`);
      const backends = await call<RpcBackendView[]>(context, 'rpc:list');
      const text =
        backends.length === 0
          ? 'No rpc-server backends. Add one with "synaptic rpc add HOST:PORT".'
          : formatTable(['ENDPOINT', 'STATUS', 'DEVICES', 'FREE', 'REASON'], backendRows(backends));
      return { json: backends, text };
    }
    const endpoint = context.positionals[1];
    if (endpoint === undefined) throw usageError(`missing HOST:PORT after "rpc ${action}", e.g. rpc ${action} 192.168.1.30:50052`);
    if (action === 'remove') {
      if (context.values.name !== undefined) throw usageError('--name applies to "rpc add" only');
      const result = await call<{ removed: boolean }>(context, 'rpc:remove', { endpoint });
      if (!result.removed) throw new CliError(`no rpc-server backend '${endpoint}'; run "synaptic rpc list" to list them`);
      return { json: result, text: `Removed rpc-server ${endpoint}.` };
    }
    const name = stringFlag(context, 'name');
    const backend = await call<RpcBackendView>(context, 'rpc:add', name ? { endpoint, name } : { endpoint });
    const reason = backend.reason ? ` (${backend.reason})` : '';
    return { json: backend, text: `Added rpc-server ${backend.endpoint}: ${backend.status}${reason}.` };
  },
};

export const distributedCommand: CommandSpec = {
  name: 'distributed',
  usage: 'distributed on --model M [--backends H:P,...] [--ctx N] | distributed off [ID] | distributed list',
  summary: 'Serve a model split across rpc-server backends with llama-server, or stop it',
  subcommands: ['on', 'off', 'list'],
  details: [
    '--model M          model name from the --models folder or the Ollama store (llama3.2:1b),',
    '                   or path to a .gguf file, for "on"',
    '--backends LIST    rpc-server endpoints to use (default: every backend that passes the check)',
    '--ctx N            context length in tokens',
  ],
  options: { model: { type: 'string' }, backends: { type: 'string' }, ctx: { type: 'string' } },
  minArgs: 1,
  maxArgs: 2,
  async run(context) {
    const action = requireWord(context.positionals[0], ['on', 'off', 'list'], 'distributed action');
    if (action === 'list') {
      const models = await call<DistributedModelView[]>(context, 'distributed:list');
      return { json: models, text: formatModels(models) };
    }
    if (action === 'off') {
      const models = await call<DistributedModelView[]>(context, 'distributed:list');
      const wanted = context.positionals[1];
      const targets = wanted ? models.filter((model) => model.id === wanted || model.name === wanted) : models;
      if (wanted && targets.length === 0) throw usageError(`no distributed model '${wanted}'; run "synaptic distributed list"`);
      const stopped: string[] = [];
      for (const model of targets) {
        await call(context, 'distributed:stop', { id: model.id });
        stopped.push(model.id);
      }
      const text = stopped.length === 0 ? 'Distributed inference is already off.' : `Stopped ${stopped.join(', ')}.`;
      return { json: { stopped }, text };
    }

    if (context.positionals.length > 1) throw usageError(`unexpected argument '${context.positionals[1]}'; pass the model with --model`);
    const model = stringFlag(context, 'model');
    if (!model) throw usageError('missing --model for "distributed on", e.g. --model llama3.2:1b or a .gguf path');
    const request: Record<string, unknown> = { model };
    const backends = stringFlag(context, 'backends');
    if (backends !== undefined) request.backends = backends.split(',').map((part) => part.trim()).filter(Boolean);
    const ctx = stringFlag(context, 'ctx');
    if (ctx !== undefined) request.ctx = parseIntegerFlag('ctx', ctx, 64, 1_048_576);
    const view = await call<DistributedModelView>(context, 'distributed:start', request);
    const warning = view.warning ? `\nWarning: ${view.warning}.` : '';
    return { json: view, text: formatModels([view]) + warning, exitCode: view.state === 'failed' ? 1 : 0 };
  },
};

function formatModels(models: DistributedModelView[]): string {
  if (models.length === 0) return 'No distributed models running.';
  return formatTable(
    ['ID', 'NAME', 'STATE', 'BACKENDS', 'URL', 'ERROR'],
    models.map((model) => [model.id, model.name, model.state, model.backends.join(',') || '-', model.url, model.lastError]),
  );
}
