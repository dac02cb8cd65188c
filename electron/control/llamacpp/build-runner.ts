import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LlamaBuildProgress, LlamaBuildView } from '../../../shared/api/distributed';
import { ErrorCodes } from '../../../shared/result';
import { ApiFailure } from '../core/api-registry';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';

/** Output lines kept for the build view and for the failure message. */
export const BUILD_TAIL_LINES = 40;
const FAILURE_TAIL_LINES = 12;
const SCRIPT = join('scripts', 'llama-build.mjs');

export type LlamaBuildRunnerOptions = {
  bus: EventBus;
  log: Logger;
  /** Build script to run; default `scripts/llama-build.mjs` of this checkout. */
  scriptPath?: string;
  env?: NodeJS.ProcessEnv;
};

/**
 * Extracts cmake's progress from a build line such as `[ 42%] Building CXX object ...`, with or
 * without the script's `[llama:build] ` prefix. Returns undefined when the line has none.
 */
export function parseBuildPercent(line: string): number | undefined {
  const match = /^(?:\[llama:build\]\s*)?\[\s*(\d{1,3})%\]/.exec(line.trim());
  if (!match) return undefined;
  const percent = Number(match[1]);
  return percent <= 100 ? percent : undefined;
}

/**
 * Finds `scripts/llama-build.mjs` by walking up from this module, so the lookup works both in the
 * source tree (`electron/control/llamacpp/`) and for the bundled main process (`out/main/`).
 */
export function findBuildScript(start: string = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = start;
  for (let depth = 0; depth < 8; depth++) {
    const candidate = join(dir, SCRIPT);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

/**
 * Runs the llama.cpp build script, one run at a time, and publishes each output line as a
 * `llama:build-progress` event. A call while a run is in progress returns that run's state.
 */
export class LlamaBuildRunner {
  private current: LlamaBuildView | null = null;
  private readonly log: Logger;

  constructor(private readonly options: LlamaBuildRunnerOptions) {
    this.log = options.log.child({ component: 'llama-build' });
  }

  /** State of the running or last finished build; null before the first run. */
  view(): LlamaBuildView | null {
    return this.current ? { ...this.current, tail: [...this.current.tail] } : null;
  }

  /**
   * Starts a build and resolves when it is done, or returns at once with the running state when a
   * build already runs. Rejects with an ApiFailure naming the exit code and last lines on failure.
   */
  async run(): Promise<LlamaBuildView> {
    if (this.current?.state === 'running') return this.view() as LlamaBuildView;
    const script = this.options.scriptPath ?? findBuildScript();
    if (!script || !existsSync(script)) {
      throw new ApiFailure(ErrorCodes.unavailable, `build script ${script ?? SCRIPT} not found; run the build from a source checkout`);
    }
    const build: LlamaBuildView = { state: 'running', startedAt: new Date().toISOString(), percent: null, tail: [] };
    this.current = build;
    this.log.info({ script }, 'llama.cpp build started');
    const { exitCode, lastStdout } = await this.spawnScript(script, build);
    build.finishedAt = new Date().toISOString();
    if (exitCode === 0 && lastStdout) {
      build.state = 'done';
      build.binDir = lastStdout;
      build.percent = 100;
      this.log.info({ binDir: lastStdout }, 'llama.cpp build finished');
      this.emit({ line: `binaries in ${lastStdout}`, percent: 100, state: 'done' });
      return this.view() as LlamaBuildView;
    }
    build.state = 'failed';
    build.exitCode = exitCode;
    const reason = exitCode === 0 ? 'exited with code 0 but printed no binary folder' : `exited with code ${exitCode ?? 'null (killed by a signal)'}`;
    this.log.error({ exitCode, tail: build.tail.slice(-FAILURE_TAIL_LINES) }, 'llama.cpp build failed');
    this.emit({ line: `build ${reason}`, state: 'failed' });
    throw new ApiFailure(
      ErrorCodes.unavailable,
      `llama.cpp build ${reason}. Last output:\n${build.tail.slice(-FAILURE_TAIL_LINES).join('\n')}`,
    );
  }

  private spawnScript(script: string, build: LlamaBuildView): Promise<{ exitCode: number | null; lastStdout: string }> {
    return new Promise((resolve) => {
      // Under Electron, process.execPath is the Electron binary; ELECTRON_RUN_AS_NODE makes it run
      // the script as plain Node. Plain Node ignores the variable.
      const child = spawn(process.execPath, [script], {
        cwd: dirname(dirname(script)),
        env: { ...(this.options.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let lastStdout = '';
      const onLine = (line: string, fromStdout: boolean) => {
        if (!line.trim()) return;
        if (fromStdout) lastStdout = line.trim();
        build.tail.push(line);
        if (build.tail.length > BUILD_TAIL_LINES) build.tail.splice(0, build.tail.length - BUILD_TAIL_LINES);
        const percent = parseBuildPercent(line);
        if (percent !== undefined) build.percent = percent;
        this.emit(percent === undefined ? { line } : { line, percent });
      };
      const stdoutDone = new Promise<void>((done) => {
        createInterface({ input: child.stdout }).on('line', (line) => onLine(line, true)).on('close', done);
      });
      const stderrDone = new Promise<void>((done) => {
        createInterface({ input: child.stderr }).on('line', (line) => onLine(line, false)).on('close', done);
      });
      child.on('error', (error) => {
        build.tail.push(`failed to start ${process.execPath}: ${error.message}`);
        resolve({ exitCode: -1, lastStdout: '' });
      });
      child.on('close', (code) => {
        void Promise.all([stdoutDone, stderrDone]).then(() => resolve({ exitCode: code, lastStdout }));
      });
    });
  }

  private emit(progress: LlamaBuildProgress): void {
    this.options.bus.emit('llama:build-progress', progress);
  }
}
