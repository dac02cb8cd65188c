const STORAGE_KEY = 'synaptic.token';

/**
 * Reads the serve-mode access token. A `?token=` in the page URL is moved into
 * sessionStorage and removed from the address bar, so it is not kept in history or shared
 * by copying the URL.
 */
export function takeToken(win: Window = window): string | undefined {
  const url = new URL(win.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    win.sessionStorage.setItem(STORAGE_KEY, fromUrl);
    url.searchParams.delete('token');
    win.history.replaceState(win.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return win.sessionStorage.getItem(STORAGE_KEY) ?? undefined;
}
