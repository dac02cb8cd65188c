import type { DiscoveryProposal, DiscoveryRejection } from '../../../shared/api/discovery';
import { isLoopback } from './cidr';
import { fingerprintOllama, type HttpFetch } from './fingerprint';
import { parseOllamaHost } from './ollama-host';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_FINGERPRINT_TIMEOUT_MS, ollamaProposal } from './scanner';
import { probeTcp, type TcpProbe } from './tcp-probe';

export type LocalTarget = { host: string; port: number };

export type LocalSearch = {
  env: NodeJS.ProcessEnv;
  localDefault?: LocalTarget;
  isSelf?: (host: string, port: number) => boolean;
  probe?: TcpProbe;
  fetch?: HttpFetch;
};

export type LocalFindings = {
  proposals: DiscoveryProposal[];
  /** The proposals on this machine (loopback), which may be added without asking. */
  local: DiscoveryProposal[];
  rejected: DiscoveryRejection[];
  warnings: string[];
};

/** Checks the Ollama named by OLLAMA_HOST, then the default address on this machine. */
export async function discoverLocal(search: LocalSearch): Promise<LocalFindings> {
  const findings: LocalFindings = { proposals: [], local: [], rejected: [], warnings: [] };
  const candidates: Array<{ host: string; port: number; url: string; source: DiscoveryProposal['source'] }> = [];

  const raw = search.env.OLLAMA_HOST;
  if (raw !== undefined && raw.trim() !== '') {
    const parsed = parseOllamaHost(raw);
    if (parsed.ok) candidates.push({ ...parsed.target, source: 'OLLAMA_HOST' });
    else findings.warnings.push(parsed.message);
  }
  const fallback = search.localDefault ?? { host: '127.0.0.1', port: 11434 };
  if (!candidates.some((c) => c.host === fallback.host && c.port === fallback.port)) {
    candidates.push({ ...fallback, url: `http://${fallback.host}:${fallback.port}`, source: 'default' });
  }

  for (const candidate of candidates) {
    if (search.isSelf?.(candidate.host, candidate.port)) continue;
    const probe = search.probe ?? probeTcp;
    const outcome = await probe(candidate.host, candidate.port, DEFAULT_CONNECT_TIMEOUT_MS * 3);
    if (outcome.kind !== 'open') continue;

    const fingerprint = await fingerprintOllama(
      candidate.url,
      DEFAULT_FINGERPRINT_TIMEOUT_MS,
      undefined,
      search.fetch,
    );
    if (!fingerprint.ok) {
      findings.rejected.push({ host: candidate.host, port: candidate.port, reason: fingerprint.reason });
      continue;
    }
    const proposal = {
      ...ollamaProposal(
        candidate.host,
        candidate.port,
        candidate.source,
        fingerprint.version,
        fingerprint.models,
        fingerprint.latencyMs,
      ),
      address: candidate.url,
    };
    findings.proposals.push(proposal);
    if (isLoopback(candidate.host)) findings.local.push(proposal);
  }
  return findings;
}
