export type OllamaHostTarget = { host: string; port: number; url: string };

export type OllamaHostParse = { ok: true; target: OllamaHostTarget } | { ok: false; message: string };

/**
 * Parses OLLAMA_HOST the way the ollama CLI reads it: `host`, `host:port`, `:port` or
 * `scheme://host[:port]`. The port defaults to 11434 without a scheme, 80 for `http://` and 443
 * for `https://`. A wildcard bind address (`0.0.0.0`, `::`) is reached through loopback.
 */
export function parseOllamaHost(raw: string): OllamaHostParse {
  const text = raw.trim();
  if (text === '') return { ok: false, message: 'OLLAMA_HOST is empty' };

  let scheme = 'http';
  let defaultPort = 11434;
  let rest = text;
  const schemeEnd = text.indexOf('://');
  if (schemeEnd >= 0) {
    scheme = text.slice(0, schemeEnd).toLowerCase();
    rest = text.slice(schemeEnd + 3);
    if (scheme === 'http') defaultPort = 80;
    else if (scheme === 'https') defaultPort = 443;
    else return { ok: false, message: `OLLAMA_HOST '${raw}' has scheme '${scheme}'; use http or https` };
  }
  const hostPort = rest.split('/')[0];

  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(hostPort);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
  } else if ((hostPort.match(/:/g) ?? []).length > 1) {
    host = hostPort;
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    portText = colon >= 0 ? hostPort.slice(colon + 1) : undefined;
  }

  let port = defaultPort;
  if (portText !== undefined && portText !== '') {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return { ok: false, message: `OLLAMA_HOST '${raw}' has an invalid port '${portText}'; expected 1-65535` };
    }
    port = Number(portText);
  }
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { ok: true, target: { host, port, url: `${scheme}://${urlHost}:${port}` } };
}
