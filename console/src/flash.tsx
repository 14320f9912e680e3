/** Flash messages (the API's errors with AWS's code, and successes), shown at the top of every page. */
import { createContext, useCallback, useContext, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import type { FlashbarProps } from '@cloudscape-design/components/flashbar';
import { describeError } from './api';

interface Flash {
  items: FlashbarProps.MessageDefinition[];
  error(err: unknown, header?: string): void;
  success(content: ReactNode): void;
}

const Ctx = createContext<Flash>({ items: [], error: () => undefined, success: () => undefined });

export function FlashProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<FlashbarProps.MessageDefinition[]>([]);
  const push = useCallback((item: FlashbarProps.MessageDefinition) => {
    const id = String(Date.now() + Math.random());
    setItems((prev) => [{ ...item, id, dismissible: true, dismissLabel: 'Dismiss', onDismiss: () => setItems((p) => p.filter((x) => x.id !== id)) }, ...prev].slice(0, 5));
  }, []);
  const value = useMemo<Flash>(() => ({
    items,
    error: (err, header) => {
      const { code, message } = describeError(err);
      push({ type: 'error', header: header ?? code, content: header ? `${code}: ${message}` : message });
    },
    success: (content) => push({ type: 'success', content }),
  }), [items, push]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export const useFlash = () => useContext(Ctx);
