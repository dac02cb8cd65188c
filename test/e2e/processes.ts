import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A child process with its combined output, so failures can show the last lines. */
export type Child = { process: ChildProcess; output: () => string; stop(): Promise<void> };

/** Spawns `command` in its own process group, so stopping it also stops npm's and tsx's children. */
export function startChild(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(command, args, {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    }, 8_000);
    await exited;
    // npm exits on SIGTERM before its grandchildren finish their own shutdown (the control plane
    // saves its state then), so wait for the whole group before the caller deletes their files.
    await waitForGroupExit(child.pid, 8_000);
    clearTimeout(timer);
  };
  return { process: child, output: () => output, stop };
}

/** Polls until no process of the group is left, then kills whatever remains after `timeoutMs`. */
async function waitForGroupExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

/** Resolves with the first match of `pattern` in the child's output, or rejects on exit or timeout. */
export function waitForOutput(child: Child, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = child.output().match(pattern);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`process exited with code ${code} before printing ${pattern}:\n${child.output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}:\n${child.output()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.process.stdout?.off('data', check);
      child.process.stderr?.off('data', check);
      child.process.off('exit', onExit);
    };
    child.process.stdout?.on('data', check);
    child.process.stderr?.on('data', check);
    child.process.once('exit', onExit);
    check();
  });
}

/** Polls `url` until it returns a 2xx status, or rejects with the child's output. */
export async function waitForHttp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) {
      throw new Error(`process exited with code ${child.process.exitCode} before ${url} answered:\n${child.output()}`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${url}:\n${child.output()}`);
}

/** Finds a TCP port on 127.0.0.1 that was free a moment ago; another process may take it first. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `npm run serve` with its state in `dataDir`, the gateway and UI on free ports, and
 * `extraArgs` appended. Returns the child at once and a promise of the UI address it prints.
 */
export async function startServe(dataDir: string, extraArgs: string[] = []): Promise<{ child: Child; uiUrl: Promise<string> }> {
  const args = ['run', 'serve', '--', '--data', dataDir, '--port', String(await freePort()), '--ui-port', String(await freePort())];
  const child = startChild('npm', [...args, ...extraArgs]);
  const uiUrl = waitForOutput(child, /ui:\s+(http:\/\/\S+)/, 180_000).then((match) => match[1]);
  return { child, uiUrl };
}
