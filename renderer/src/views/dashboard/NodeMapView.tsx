import { memo, useMemo, type KeyboardEvent } from 'react';
import type { RpcBackendView } from '../../../../shared/api/distributed';
import type { NodeView } from '../../../../shared/types';
import { useApp } from '../../store/context';
import { NodeDetails } from './NodeDetails';
import { requestRate } from './series-math';

const WIDTH = 900;
const HEIGHT = 560;
const CENTER = { x: WIDTH / 2, y: HEIGHT / 2 };

type Spot = { x: number; y: number };

/** Above this many items a ring alternates between two radii, so neighbouring labels do not overlap. */
const SINGLE_RING_MAX = 16;

/** Places `count` items evenly on an ellipse around the gateway, starting at the top. */
export function ringLayout(count: number, rx: number, ry: number): Spot[] {
  return Array.from({ length: count }, (_, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, count);
    const scale = count > SINGLE_RING_MAX && i % 2 === 1 ? 0.76 : 1;
    return { x: CENTER.x + rx * scale * Math.cos(angle), y: CENTER.y + ry * scale * Math.sin(angle) };
  });
}

function activate(event: KeyboardEvent, action: () => void): void {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    action();
  }
}

function rpcHealth(backend: RpcBackendView): string {
  if (backend.status === 'ok') return 'up';
  if (backend.status === 'unknown') return 'unknown';
  return 'down';
}

/** Graph of the gateway, every node and every RPC backend, with live request rates on edges. */
export function NodeMapView() {
  const nodes = useApp((state) => state.nodes);
  const series = useApp((state) => state.series);
  const metricsAt = useApp((state) => state.metricsAt);
  const rpcBackends = useApp((state) => state.rpcBackends);
  const distributed = useApp((state) => state.distributedModels);
  const selectedNodeId = useApp((state) => state.selectedNodeId);
  const selectNode = useApp((state) => state.selectNode);

  const spots = useMemo(() => ringLayout(nodes.length, 360, 212), [nodes.length]);
  const rpcSpots = useMemo(() => ringLayout(rpcBackends.length, 430, 250), [rpcBackends.length]);
  const nodeSpotByUrl = new Map(nodes.map((node, i) => [node.url, spots[i]]));
  const selected = nodes.find((node) => node.id === selectedNodeId) ?? null;
  const rates = nodes.map((node) => requestRate(series[node.id], metricsAt || Date.now()));

  return (
    <section aria-labelledby="map-heading" data-testid="map-view" className="dashboard">
      <h2 id="map-heading">Node map</h2>
      <p className="muted">
        {nodes.length} nodes, {rpcBackends.length} RPC backends. The figure under each node is its requests per second over the
        last minute, and busier edges are thicker. Select a node for its details.
      </p>
      <div className="map-layout">
        <svg className="node-map" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="group" aria-label="Fleet map">
          {rpcBackends.map((backend, i) => {
            const owner = distributed.find((model) => model.backends.includes(backend.endpoint));
            const target = (owner && nodeSpotByUrl.get(owner.url)) ?? CENTER;
            return <line key={`rpc-edge-${backend.endpoint}`} className="map-edge map-edge-rpc" x1={target.x} y1={target.y} x2={rpcSpots[i].x} y2={rpcSpots[i].y} />;
          })}
          {nodes.map((node, i) => (
            <NodeEdge key={`edge-${node.id}`} spot={spots[i]} rate={rates[i]} />
          ))}
          <g className="map-gateway" data-testid="map-gateway">
            <rect x={CENTER.x - 55} y={CENTER.y - 22} width={110} height={44} rx={8} />
            <text x={CENTER.x} y={CENTER.y + 5} textAnchor="middle">
              gateway
            </text>
          </g>
          {nodes.map((node, i) => (
            <MapNode key={node.id} node={node} spot={spots[i]} rate={rates[i]} selected={node.id === selectedNodeId} onSelect={selectNode} />
          ))}
          {rpcBackends.map((backend, i) => (
            <g key={backend.endpoint} className={`map-rpc health-fill-${rpcHealth(backend)}`} data-testid="map-rpc">
              <title>{`RPC backend ${backend.endpoint}: ${backend.status}${backend.reason ? ` (${backend.reason})` : ''}`}</title>
              <rect x={rpcSpots[i].x - 9} y={rpcSpots[i].y - 9} width={18} height={18} rx={3} />
              <text x={rpcSpots[i].x} y={rpcSpots[i].y + 24} textAnchor="middle" className="map-label">
                {backend.name ?? backend.endpoint}
              </text>
            </g>
          ))}
        </svg>
        {selected ? <NodeDetails node={selected} onClose={() => selectNode(null)} /> : null}
      </div>
    </section>
  );
}

const NodeEdge = memo(function NodeEdge({ spot, rate }: { spot: Spot; rate: number }) {
  const width = rate > 0 ? Math.min(8, 1.5 + Math.log2(1 + rate) * 1.5) : 1;
  return (
    <line
      data-testid="map-edge"
      className={rate > 0 ? 'map-edge map-edge-active' : 'map-edge'}
      x1={CENTER.x}
      y1={CENTER.y}
      x2={spot.x}
      y2={spot.y}
      strokeWidth={width}
    />
  );
});

function formatRate(rate: number): string {
  return `${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)}/s`;
}

const MapNode = memo(function MapNode(props: { node: NodeView; spot: Spot; rate: number; selected: boolean; onSelect: (id: string) => void }) {
  const { node, spot, rate, selected, onSelect } = props;
  const problems = node.problems.length > 0 ? `, ${node.problems.length} problems` : '';
  const label = `${node.name}, ${node.health}${problems}, ${formatRate(rate)} requests per second`;
  return (
    <g
      className={`map-node health-fill-${node.health}${selected ? ' map-node-selected' : ''}`}
      data-testid="map-node"
      data-node-id={node.id}
      role="button"
      tabIndex={0}
      aria-label={label}
      aria-pressed={selected}
      onClick={() => onSelect(node.id)}
      onKeyDown={(event) => activate(event, () => onSelect(node.id))}
    >
      <circle cx={spot.x} cy={spot.y} r={16} />
      {node.problems.length > 0 && <circle className="map-problem" cx={spot.x + 12} cy={spot.y - 12} r={5} />}
      <text x={spot.x} y={spot.y + 30} textAnchor="middle" className="map-label">
        {node.name}
      </text>
      {rate > 0 && (
        <text x={spot.x} y={spot.y + 43} textAnchor="middle" className="map-rate" data-testid="map-edge-rate">
          {formatRate(rate)}
        </text>
      )}
    </g>
  );
});
