import { checkRpcBackend } from '../llamacpp/devices';
import type { RpcCheck } from './scanner';

/**
 * Builds the discovery device check from a llama-server binary: it runs
 * `llama-server --rpc host:port --list-devices` and reports the devices the rpc-server offers.
 */
export function rpcCheckFromLlamaServer(llamaServerPath: string, timeoutMs = 20_000): RpcCheck {
  return async (hostPort, signal) => {
    const check = await checkRpcBackend(llamaServerPath, hostPort, { timeoutMs, signal });
    if (check.status !== 'ok') return { verified: false, detail: check.reason };
    const free = check.devices.reduce((sum, device) => sum + device.freeMiB, 0);
    const count = check.devices.length;
    return { verified: true, detail: `rpc-server, ${count} device${count === 1 ? '' : 's'}, ${free} MiB free` };
  };
}
