import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export type StaticLookup =
  | { kind: 'file'; path: string; size: number }
  | { kind: 'not_found' }
  | { kind: 'bad_path'; message: string };

/**
 * Maps a URL path onto a file inside `root`. A path that leaves the root (`..`, an encoded
 * separator, a symlink pointing outside) is a bad path. A missing path without a file
 * extension falls back to `index.html`, so client-side views survive a reload.
 */
export async function lookupStatic(root: string, urlPath: string): Promise<StaticLookup> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { kind: 'bad_path', message: `invalid percent-encoding in path '${urlPath}'` };
  }
  if (decoded.includes('\0')) return { kind: 'bad_path', message: 'path contains a NUL byte' };
  if (decoded.includes('\\')) return { kind: 'bad_path', message: 'path contains a backslash' };

  const rootReal = await realpath(root).catch(() => resolve(root));
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const candidate = resolve(rootReal, relative);
  if (candidate !== rootReal && !candidate.startsWith(rootReal + sep)) {
    return { kind: 'bad_path', message: `path '${decoded}' is outside the UI folder` };
  }

  const found = await regularFileInside(rootReal, candidate);
  if (found) return found;
  if (extname(relative) === '') {
    const index = await regularFileInside(rootReal, join(rootReal, 'index.html'));
    if (index) return index;
  }
  return { kind: 'not_found' };
}

async function regularFileInside(
  rootReal: string,
  candidate: string,
): Promise<{ kind: 'file'; path: string; size: number } | null> {
  try {
    const real = await realpath(candidate);
    if (!real.startsWith(rootReal + sep)) return null;
    const info = await stat(real);
    if (!info.isFile()) return null;
    return { kind: 'file', path: real, size: info.size };
  } catch {
    return null;
  }
}

/** Streams a file found by `lookupStatic`; HEAD requests get the headers only. */
export function sendFile(
  response: ServerResponse,
  file: { path: string; size: number },
  headOnly: boolean,
): void {
  const isHtml = file.path.endsWith('.html');
  response.statusCode = 200;
  response.setHeader('Content-Type', contentTypeFor(file.path));
  response.setHeader('Content-Length', String(file.size));
  // Hashed asset names change on every build; the page itself must always be fetched fresh.
  response.setHeader('Cache-Control', isHtml ? 'no-store' : 'public, max-age=3600');
  if (headOnly) {
    response.end();
    return;
  }
  const stream = createReadStream(file.path);
  stream.on('error', () => response.destroy());
  stream.pipe(response);
}
