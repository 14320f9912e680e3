/**
 * EC2 Query request parser: turns `Filter.1.Name=name&Filter.1.Value.1=web*`
 * into `{ Filters: [{ Name: 'name', Values: ['web*'] }] }` by walking the
 * action's input schema. The wire names are the ones the SDK's own query
 * serializer writes (ec2QueryName, else the capitalized xmlName or member
 * name; lists flattened as `Key.N`, 1-based; maps as `Key.N.key/value`), so
 * anything an SDK or aws-cli sends parses, and anything else is refused.
 */
import type { NormalizedSchema } from '@smithy/core/schema';
import type { OperationModel } from './operations.js';
import { ProtocolError } from './protocol.js';

interface Node { value?: string; key: string; children: Map<string, Node> }

const ENVELOPE = new Set(['Action', 'Version']);
const MAX_LIST = 10_000;

/** Parses a request's query parameters into the action's input object (SDK member names and types). */
export function parseQuery(params: URLSearchParams, op: OperationModel): Record<string, any> {
  const root: Node = { key: '', children: new Map() };
  for (const [key, value] of params) {
    if (ENVELOPE.has(key)) continue;
    let node = root;
    for (const part of key.split('.')) {
      let child = node.children.get(part);
      if (!child) node.children.set(part, (child = { key: node.key ? `${node.key}.${part}` : part, children: new Map() }));
      node = child;
    }
    node.value = value;
  }
  return (readStruct(op.input, root) ?? {}) as Record<string, any>;
}

function unknown(node: Node): ProtocolError {
  return new ProtocolError('UnknownParameter', `The parameter ${node.key} is not recognized`);
}

function invalid(node: Node, expected: string): ProtocolError {
  return new ProtocolError('InvalidParameterValue', `Value (${node.value ?? ''}) for parameter ${node.key} is invalid. Expected: '${expected}'.`);
}

/** The wire name of a structure member, as the SDK's EC2 query serializer writes it. */
export function wireName(memberName: string, member: NormalizedSchema): string {
  const traits = member.getMergedTraits();
  if (traits.ec2QueryName) return traits.ec2QueryName as string;
  const name = (traits.xmlName as string | undefined) ?? memberName;
  return name[0]!.toUpperCase() + name.slice(1);
}

function read(schema: NormalizedSchema, node: Node): unknown {
  if (schema.isStructSchema()) return readStruct(schema, node);
  if (schema.isListSchema()) return readList(schema, node);
  if (schema.isMapSchema()) return readMap(schema, node);
  if (node.children.size) throw unknown([...node.children.values()][0]!);
  const text = node.value ?? '';
  if (schema.isBooleanSchema()) {
    if (text === 'true' || text === 'false') return text === 'true';
    throw invalid(node, 'Boolean');
  }
  if (schema.isNumericSchema() || schema.isBigIntegerSchema() || schema.isBigDecimalSchema()) {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw invalid(node, 'Number');
    return n;
  }
  if (schema.isTimestampSchema()) {
    const d = /^\d+(\.\d+)?$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
    if (Number.isNaN(d.getTime())) throw invalid(node, 'Timestamp');
    return d;
  }
  if (schema.isBlobSchema()) return new Uint8Array(Buffer.from(text, 'base64'));
  return text;
}

function readStruct(schema: NormalizedSchema, node: Node): Record<string, unknown> | undefined {
  if (node.value !== undefined && node.key) throw invalid(node, 'Structure');
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [memberName, member] of schema.structIterator()) {
    const wire = wireName(memberName, member);
    const child = node.children.get(wire);
    if (!child) continue;
    seen.add(wire);
    const value = read(member, child);
    if (value !== undefined) out[memberName] = value;
  }
  for (const [name, child] of node.children) if (!seen.has(name)) throw unknown(child);
  return out;
}

function indexed(node: Node): Node[] {
  const items: Array<[number, Node]> = [];
  for (const [name, child] of node.children) {
    const i = Number(name);
    if (!/^[1-9]\d{0,5}$/.test(name) || i > MAX_LIST) throw unknown(child);
    items.push([i, child]);
  }
  return items.sort((a, b) => a[0] - b[0]).map(([, n]) => n);
}

function readList(schema: NormalizedSchema, node: Node): unknown[] {
  // An empty list is sent as `Key=` (serializeEmptyLists); a bare value is not a list.
  if (node.value !== undefined && node.value !== '' && !node.children.size) throw invalid(node, 'List');
  const member = schema.getValueSchema();
  return indexed(node).map((item) => read(member, item));
}

function readMap(schema: NormalizedSchema, node: Node): Record<string, unknown> {
  const keyName = (schema.getKeySchema().getMergedTraits().xmlName as string | undefined) ?? 'key';
  const valueName = (schema.getValueSchema().getMergedTraits().xmlName as string | undefined) ?? 'value';
  const entries = schema.getMergedTraits().xmlFlattened ? node : node.children.get('entry');
  const out: Record<string, unknown> = Object.create(null);
  if (!entries) {
    if (node.children.size) throw unknown([...node.children.values()][0]!);
    return out;
  }
  for (const entry of indexed(entries)) {
    const k = entry.children.get(keyName);
    if (!k || k.value === undefined) throw new ProtocolError('MissingParameter', `The request must contain the parameter ${entry.key}.${keyName}`);
    const v = entry.children.get(valueName);
    out[k.value] = v ? read(schema.getValueSchema(), v) : undefined;
  }
  return out;
}
