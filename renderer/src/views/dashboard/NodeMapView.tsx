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

/** Maximum RPC backends per row of the band under the node ring, so each label gets WIDTH / 6 = 150 units. */
const RPC_ROW_MAX = 6;
/** Vertical distance between RPC rows and from the ring's bottom to the first row, in viewBox units. */
const RPC_ROW_HEIGHT = 52;
/** Maximum characters of an RPC label. A longer one ends in an ellipsis, and its title keeps the full text. */
const RPC_LABEL_MAX = 20;
/** Radii of the node ring. Its lowest label and rate text end about 50 units below CENTER.y + NODE_RY. */
const NODE_RX = 360;
const NODE_RY = 212;

/** Places `count` items evenly on an ellipse around the gateway, starting at the top. */
export function ringLayout(count: number, rx: number, ry: number): Spot[] {
  return Array.from({ length: count }, (_, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, count);
    const scale = count > SINGLE_RING_MAX && i % 2 === 1 ? 0.76 : 1;
    return { x: CENTER.x + rx * scale * Math.cos(angle), y: CENTER.y + ry * scale * Math.sin(angle) };
  });
}

/**
 * Places `count` RPC backends in rows under the node ring, centred, at most RPC_ROW_MAX a row.
 * Under the ring their squares and labels cannot overlap a node, whatever the node count.
 */
export function rpcRowLayout(count: number): Spot[] {
  return Array.from({ length: count }, (_, i) => {
    const row = Math.floor(i / RPC_ROW_MAX);
    const inRow = Math.min(RPC_ROW_MAX, count - row * RPC_ROW_MAX);
    const column = i % RPC_ROW_MAX;
    return { x: (WIDTH * (column + 1)) / (inRow + 1), y: HEIGHT + 10 + row * RPC_ROW_HEIGHT };
  });
}

/** Returns the viewBox height that fits the node ring and `rpcCount` RPC backends under it. */
export function mapHeight(rpcCount: number): number {
  const rows = Math.ceil(rpcCount / RPC_ROW_MAX);
  return rows === 0 ? HEIGHT : HEIGHT + rows * RPC_ROW_HEIGHT;
}

function shortLabel(text: string): string {
  return text.length > RPC_LABEL_MAX ? `${text.slice(0, RPC_LABEL_MAX - 1)}…` : text;
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

  const spots = useMemo(() => ringLayout(nodes.length, NODE_RX, NODE_RY), [nodes.length]);
  const rpcSpots = useMemo(() => rpcRowLayout(rpcBackends.length), [rpcBackends.length]);
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
        <svg className="node-map" viewBox={`0 0 ${WIDTH} ${mapHeight(rpcBackends.length)}`} role="group" aria-label="Fleet map">
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
              <title>{`RPC backend ${backend.name ? `${backend.name} at ` : ''}${backend.endpoint}: ${backend.status}${backend.reason ? ` (${backend.reason})` : ''}`}</title>
              <rect x={rpcSpots[i].x - 9} y={rpcSpots[i].y - 9} width={18} height={18} rx={3} />
              <text x={rpcSpots[i].x} y={rpcSpots[i].y + 24} textAnchor="middle" className="map-label">
                {shortLabel(backend.name ?? backend.endpoint)}
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
