/** A small router over the History API: the server answers every console route with index.html. */
import { useEffect, useState } from 'react';

const listeners = new Set<() => void>();

export function navigate(to: string): void {
  if (to === window.location.pathname + window.location.search) return;
  window.history.pushState(null, '', to);
  for (const l of listeners) l();
}

export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    window.addEventListener('popstate', l);
    return () => { listeners.delete(l); window.removeEventListener('popstate', l); };
  }, []);
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

/** For Cloudscape's onFollow events: an internal link navigates without a reload. */
export function follow(e: CustomEvent<{ href?: string; external?: boolean }>): void {
  if (e.detail.external || !e.detail.href) return;
  e.preventDefault();
  navigate(e.detail.href);
}
