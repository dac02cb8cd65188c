import type { Theme } from '../store/types';

const STORAGE_KEY = 'synaptic.theme';

/** Returns the saved theme, else the system's preference. */
export function initialTheme(win: Window = window): Theme {
  const saved = win.localStorage.getItem(STORAGE_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return win.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(theme: Theme, win: Window = window): void {
  win.document.documentElement.dataset.theme = theme;
  win.localStorage.setItem(STORAGE_KEY, theme);
}
