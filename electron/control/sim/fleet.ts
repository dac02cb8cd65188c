import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { FleetProfile } from './profile';
import { startSimNode, type SimNode } from './server';
import type { SimClock } from './engine';

/** A running simulated fleet: one loopback server per profile node. */
export type SimFleet = {
  profile: FleetProfile;
  clock: SimClock;
  nodes: SimNode[];
  node(name: string): SimNode;
  close(): Promise<void>;
};

/** Path of a profile shipped in resources/fleet-profiles, e.g. `home-lab`. */
export function bundledProfilePath(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', '..', 'resources', 'fleet-profiles', `${name}.json`);
}

/**
 * Starts every node of a fleet profile on 127.0.0.1 with a free port each. `speed` is how many
 * simulated milliseconds pass per real millisecond (10 makes a 3 s load take 300 ms).
 */
export async function startFleet(profile: FleetProfile, options: { speed?: number; host?: string } = {}): Promise<SimFleet> {
  const speed = options.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) throw new Error(`invalid speed ${speed}: must be a positive number`);
  const clock: SimClock = { speed };
  const nodes: SimNode[] = [];
  try {
    for (const nodeProfile of profile.nodes) {
      nodes.push(await startSimNode(nodeProfile, profile, clock, options.host ?? '127.0.0.1'));
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.close()));
    throw error;
  }
  return {
    profile,
    clock,
    nodes,
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`simulated node '${name}' not found; nodes: ${nodes.map((n) => n.name).join(', ')}`);
      return found;
    },
    close: async () => {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}
