import { useEffect, useRef } from 'react';

/**
 * Returns a ref for the button that opens a form or confirmation. When `open` turns false, focus
 * moves back to that button, so keyboard users continue where they started.
 */
export function useReturnFocus<T extends HTMLElement = HTMLButtonElement>(open: boolean) {
  const opener = useRef<T>(null);
  const wasOpen = useRef(open);
  useEffect(() => {
    if (wasOpen.current && !open) opener.current?.focus();
    wasOpen.current = open;
  }, [open]);
  return opener;
}
