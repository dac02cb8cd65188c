import { spawn } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export type BinaryKind = 'llama-server' | 'rpc-server';

export type FoundBinary = {
  kind: BinaryKind;
  path: string;
  /** Build string from `--version`, for example `0.4.0-dev (build 1, commit 80fb11a)`; null for ggml-rpc-server, which has no `--version`. */
  version: string | null;
  source: 'configured' | 'path' | 'cache';
};

export type BinaryReport = {
  llamaServer: FoundBinary | null;
  rpcServer: FoundBinary | null;
  searched: string[];
};

/** File names per kind; current llama.cpp names the RPC server `ggml-rpc-server`, older builds `rpc-server`. */
const NAMES: Record<BinaryKind, string[]> = {
  'llama-server': ['llama-server'],
  'rpc-server': ['ggml-rpc-server', 'rpc-server'],
};

/** Root of the per-user build cache that `scripts/llama-build.mjs` fills. */
export function llamaCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.SYNAPTIC_CACHE_DIR?.trim() || join(homedir(), '.cache', 'synaptic-llamas');
  return join(base, 'llama.cpp');
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function cacheBinDirs(env: NodeJS.ProcessEnv): Promise<string[]> {
  const root = llamaCacheRoot(env);
  try {
    const entries = await readdir(root, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => join(root, e.name, 'bin'))
      .sort()
      .reverse();
  } catch {
    return [];
  }
}

/** Runs `<binary> --version` and returns the reported build, or null when it fails or times out. */
export function readBinaryVersion(path: string, timeoutMs = 15_000): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    const child = spawn(path, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(parseVersionOutput(text));
    });
  });
}

/** Extracts the rest of llama.cpp's `version: 0.4.0-dev (build 1, commit 80fb11a)` line. */
export function parseVersionOutput(text: string): string | null {
  const match = /^version:\s*(.+)$/m.exec(text);
  return match ? match[1].trim() : null;
}

/**
 * Checks that an RPC server binary runs. ggml-rpc-server has no `--version`, so its `--help`
 * must list `--port`; the version is then unknown.
 */
export function probeRpcServerBinary(path: string, timeoutMs = 15_000): Promise<boolean> {
  return new Promise((resolve) => {
    let text = '';
    const child = spawn(path, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(text.includes('--port'));
    });
  });
}

/**
 * Finds llama-server and the RPC server, in this order: configured paths, the folders on PATH,
 * then the build cache (newest key first). The first executable that reports a version (llama-server) or lists `--port` in its help (RPC server) wins.
 */
export async function findLlamaBinaries(
  options: { configured?: Partial<Record<BinaryKind, string>>; env?: NodeJS.ProcessEnv } = {},
): Promise<BinaryReport> {
  const env = options.env ?? process.env;
  const pathDirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  const cacheDirs = await cacheBinDirs(env);
  const searched: string[] = [];

  async function find(kind: BinaryKind): Promise<FoundBinary | null> {
    const candidates: Array<{ path: string; source: FoundBinary['source'] }> = [];
    const configured = options.configured?.[kind];
    if (configured) candidates.push({ path: configured, source: 'configured' });
    for (const dir of pathDirs) for (const n of NAMES[kind]) candidates.push({ path: join(dir, n), source: 'path' });
    for (const dir of cacheDirs) for (const n of NAMES[kind]) candidates.push({ path: join(dir, n), source: 'cache' });
    for (const c of candidates) {
      searched.push(c.path);
      if (!(await isExecutable(c.path))) continue;
      if (kind === 'rpc-server') {
        if (await probeRpcServerBinary(c.path)) return { kind, path: c.path, version: null, source: c.source };
        continue;
      }
      const version = await readBinaryVersion(c.path);
      if (version !== null) return { kind, path: c.path, version, source: c.source };
    }
    return null;
  }

  const llamaServer = await find('llama-server');
  const rpcServer = await find('rpc-server');
  return { llamaServer, rpcServer, searched: [...new Set(searched)] };
}
