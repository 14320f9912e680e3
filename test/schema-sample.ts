import type { NormalizedSchema } from '@smithy/core/schema';

/**
 * A value for every member of `schema`, down to `depth` levels of nesting: two items per list,
 * text that needs XML escaping, whole numbers, true, a timestamp with milliseconds. Members that
 * would nest deeper are left out, so recursive shapes end.
 */
export function sample(schema: NormalizedSchema, name: string, depth: number, time = new Date('2026-11-22T10:11:12.345Z')): unknown {
  if (schema.isStructSchema()) {
    if (depth === 0) return undefined;
    const out: Record<string, unknown> = {};
    for (const [member, memberSchema] of schema.structIterator()) {
      const v = sample(memberSchema, member, depth - 1, time);
      if (v !== undefined) out[member] = v;
    }
    // A structure with no member left (all deeper than `depth`) is nothing on the wire: leave it out too.
    return Object.keys(out).length ? out : undefined;
  }
  if (schema.isListSchema()) {
    const item = sample(schema.getValueSchema(), name, depth, time);
    return item === undefined ? undefined : [item, typeof item === 'string' ? `${item}-2` : item];
  }
  if (schema.isMapSchema()) {
    const v = sample(schema.getValueSchema(), name, depth, time);
    return v === undefined ? undefined : { k1: v };
  }
  if (schema.isTimestampSchema()) return time;
  if (schema.isBlobSchema()) return new Uint8Array(Buffer.from('#!/bin/sh\n'));
  if (schema.isBooleanSchema()) return true;
  if (schema.isNumericSchema()) return 7;
  if (schema.isStringSchema()) return `${name} <&> "x"`;
  return undefined;
}
