import type { BinaryView } from '../../../../shared/api/distributed';
import { useApp } from '../../store/context';

/** Output lines shown under the build progress bar. */
const TAIL_LINES = 12;

function BinaryRow({ label, binary }: { label: string; binary: BinaryView | null }) {
  return (
    <tr data-testid={`binary-${label}`}>
      <th scope="row">{label}</th>
      {binary ? (
        <>
          <td className="path">{binary.path}</td>
          <td>{binary.version ?? 'no --version (ggml-rpc-server has none)'}</td>
          <td>{binary.source}</td>
        </>
      ) : (
        <td colSpan={3} className="warn-text">
          not found
        </td>
      )}
    </tr>
  );
}

/** Lists the llama.cpp binaries found and offers a build with streamed progress. */
export function BinariesPanel() {
  const binaries = useApp((state) => state.binaries);
  const binariesError = useApp((state) => state.binariesError);
  const build = useApp((state) => state.build);
  const buildLines = useApp((state) => state.buildLines);
  const buildError = useApp((state) => state.buildError);
  const startBuild = useApp((state) => state.startBuild);
  const loadBinaries = useApp((state) => state.loadBinaries);
  const running = build?.state === 'running';

  return (
    <section className="card" aria-labelledby="binaries-heading" data-testid="binaries-panel">
      <div className="section-header">
        <h3 id="binaries-heading">llama.cpp binaries</h3>
        <button type="button" data-testid="binaries-refresh" onClick={() => void loadBinaries(true)}>
          Search again
        </button>
      </div>
      {binariesError && (
        <p className="error" role="alert">
          {binariesError}
        </p>
      )}
      {binaries && (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Binary</th>
                  <th scope="col">Path</th>
                  <th scope="col">Version</th>
                  <th scope="col">Found in</th>
                </tr>
              </thead>
              <tbody>
                <BinaryRow label="llama-server" binary={binaries.llamaServer} />
                <BinaryRow label="rpc-server" binary={binaries.rpcServer} />
              </tbody>
            </table>
          </div>
          {binaries.hint && (
            <p className="warn-text" data-testid="binaries-hint">
              {binaries.hint}
            </p>
          )}
          <details>
            <summary>Searched folders ({binaries.searched.length})</summary>
            <ul className="compact-list">
              {binaries.searched.map((folder) => (
                <li key={folder}>{folder}</li>
              ))}
            </ul>
          </details>
        </>
      )}
      <div className="actions">
        <button type="button" className="primary" data-testid="build-start" onClick={() => void startBuild()} disabled={running}>
          {running ? 'Building…' : 'Build llama.cpp'}
        </button>
        {build?.state === 'done' && build.binDir && (
          <span className="muted" data-testid="build-done">
            Built into {build.binDir}
          </span>
        )}
      </div>
      {build && (
        <div data-testid="build-status">
          <label className="build-progress">
            <span>
              {build.state === 'running' && `Building${build.percent != null ? ` (${build.percent}%)` : '…'}`}
              {build.state === 'done' && 'Build finished'}
              {build.state === 'failed' && 'Build failed'}
            </span>
            <progress data-testid="build-progress" max={100} value={build.percent ?? undefined} />
          </label>
          {buildError && (
            <p className="error step-text" role="alert" data-testid="build-error">
              {buildError}
            </p>
          )}
          {buildLines.length > 0 && (
            <pre className="build-log" data-testid="build-log" aria-live="polite">
              {buildLines.slice(-TAIL_LINES).join('\n')}
            </pre>
          )}
        </div>
      )}
    </section>
  );
}
