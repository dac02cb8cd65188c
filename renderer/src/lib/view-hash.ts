import { useEffect } from 'react';
import type { View } from '../store/types';

/** Every view, in the order of the navigation bar. The URL hash `#/<view>` selects one. */
export const VIEW_IDS: readonly View[] = ['nodes', 'chat', 'routing', 'map', 'vram', 'layers', 'latency', 'distributed', 'discovery', 'settings'];

/** Parses a URL hash such as `#/latency` into a view. An empty or unknown hash gives the Nodes view. */
export function viewFromHash(hash: string): View {
  const name = hash.replace(/^#\/?/, '');
  return (VIEW_IDS as readonly string[]).includes(name) ? (name as View) : 'nodes';
}

/** Returns the URL hash of a view, such as `#/latency`. */
export function hashOfView(view: View): string {
  return `#/${view}`;
}

/**
 * Keeps the URL hash and the current view in step. A view change adds a history entry, so Back
 * returns to the previous view, and an empty or unknown hash is replaced without one. Editing the
 * hash, Back and Forward change the view.
 */
export function useViewHash(view: View, setView: (view: View) => void): void {
  useEffect(() => {
    const target = hashOfView(view);
    if (window.location.hash === target) return;
    if (viewFromHash(window.location.hash) === view) window.history.replaceState(window.history.state, '', target);
    else window.location.hash = target;
  }, [view]);

  useEffect(() => {
    const onHashChange = () => {
      const next = viewFromHash(window.location.hash);
      // An unknown hash typed while its fallback view is open changes no state, so it is rewritten here.
      if (window.location.hash !== hashOfView(next)) window.history.replaceState(window.history.state, '', hashOfView(next));
      setView(next);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, [setView]);
}
