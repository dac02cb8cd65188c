/** Outcome of checking a node URL typed by a user or read from a file. */
export type NodeUrlCheck = { ok: true; url: string } | { ok: false; message: string };

/**
 * Validates a node's base URL and returns it in canonical form: scheme and host lower case,
 * no trailing slash, no query or fragment. A bare `host:port` gets `http://` in front, as the
 * `OLLAMA_HOST` variable allows.
 */
export function normalizeNodeUrl(raw: string): NodeUrlCheck {
  const text = raw.trim();
  if (text === '') return { ok: false, message: 'node URL is empty' };
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;

  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    return { ok: false, message: `invalid node URL '${raw}': not a URL` };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, message: `invalid node URL '${raw}': scheme must be http or https` };
  }
  if (parsed.hostname === '') {
    return { ok: false, message: `invalid node URL '${raw}': host is missing` };
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return { ok: false, message: `invalid node URL '${raw}': credentials in the URL are not supported` };
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    return { ok: false, message: `invalid node URL '${raw}': query and fragment are not allowed` };
  }

  const path = parsed.pathname.replace(/\/+$/, '');
  return { ok: true, url: `${parsed.protocol}//${parsed.host}${path}` };
}

/** Returns true when the URL's host is a loopback address or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}
