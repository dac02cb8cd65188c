/** Result of reading the ports field: the port numbers, or an error naming the bad entry. */
export type PortsParse = { ok: true; ports: number[] } | { ok: false; message: string };

/** Parses a comma- or space-separated list of TCP ports, dropping duplicates and keeping the order. */
export function parsePorts(text: string): PortsParse {
  const entries = text
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) return { ok: false, message: 'ports is empty: list at least one port, e.g. 11434,50052' };
  const ports: number[] = [];
  for (const entry of entries) {
    const port = /^\d+$/.test(entry) ? Number(entry) : Number.NaN;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return { ok: false, message: `invalid port '${entry}': ports must be whole numbers from 1 to 65535` };
    }
    if (!ports.includes(port)) ports.push(port);
  }
  return { ok: true, ports };
}
