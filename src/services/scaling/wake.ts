/**
 * How a change wakes the reconciler at once instead of at its next tick: the
 * server's reconciler registers itself per context (reconciler.ts); without one
 * (a context no server runs) a wake is a no-op.
 */
import type { Context } from '../core/context.js';

const wakers = new WeakMap<Context, () => void>();

export function onWake(ctx: Context, fn: (() => void) | undefined): void {
  if (fn) wakers.set(ctx, fn);
  else wakers.delete(ctx);
}

export function kickScaling(ctx: Context): void {
  wakers.get(ctx)?.();
}
