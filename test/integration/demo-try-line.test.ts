import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, describe, expect, it } from 'vitest';

const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts `npm run demo` (through tsx) and resolves with its stdout once the Try line is printed. */
function runDemo(args: string[]): Promise<{ child: ChildProcess; stdout: string }> {
  const child = spawn(tsx, ['scripts/demo.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SYNAPTIC_LOG_LEVEL: 'warn' } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Try line after 90 s: ${stdout}\n${stderr}`)), 90_000);
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (/^Try.*\n/m.test(stdout)) {
        clearTimeout(timer);
        resolve({ child, stdout });
      }
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${stderr}`)));
  });
}

describe('npm run demo', () => {
  it('Try line uses the gateway URL', async () => {
    const { child, stdout } = await runDemo(['--quiet']);
    const gateway = /^gateway: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1];
    expect(gateway, stdout).toBeDefined();
    const tryLine = /^Try: curl (\S+)\/api\/chat -d '(.+)'$/m.exec(stdout);
    expect(tryLine, stdout).not.toBeNull();
    expect(tryLine![1]).toBe(gateway);

    // The printed request works as printed, through the real ollama client.
    const body = JSON.parse(tryLine![2]) as { model: string; messages: Array<{ role: string; content: string }> };
    const reply = await new Ollama({ host: gateway }).chat({ ...body, stream: false, options: { num_predict: 4 } });
    expect(reply.done).toBe(true);
    expect(reply.message.role).toBe('assistant');

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }, 120_000);

  it('--fleet-only says the Try line skips the gateway', async () => {
    const { child, stdout } = await runDemo(['--fleet-only']);
    expect(stdout).not.toContain('gateway:');
    expect(stdout).toMatch(/^Try \(one simulated node, no gateway with --fleet-only\): curl http:\/\/127\.0\.0\.1:\d+\/api\/chat/m);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }, 120_000);
});
