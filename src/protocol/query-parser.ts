/**
 * Query request parser: turns `Filter.1.Name=name&Filter.1.Value.1=web*`
 * into `{ Filters: [{ Name: 'name', Values: ['web*'] }] }` by walking the
 * action's input schema. The wire names are the ones the SDK's own query
 * serializers write: for EC2 Query ec2QueryName, else the capitalized xmlName
 * or member name, lists flattened as `Key.N`, 1-based; for AWS Query
 * (autoscaling) the xmlName or member name as is, lists as `Key.member.N`
 * unless flattened; maps as `Key.entry.N.key/value`. So anything an SDK or
 * aws-cli sends parses, and anything else is refused.
 */
import type { NormalizedSchema } from '@smithy/core/schema';
import type { OperationModel } from './operations.js';
import { ProtocolError } from './protocol.js';

interface Node { value?: string; key: string; children: Map<string, Node> }
type Wire = OperationModel['service'];

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
  return (readStruct(op.input, root, op.service) ?? {}) as Record<string, any>;
}

function unknown(node: Node): ProtocolError {
  return new ProtocolError('UnknownParameter', `The parameter ${node.key} is not recognized`);
}

function invalid(node: Node, expected: string): ProtocolError {
  return new ProtocolError('InvalidParameterValue', `Value (${node.value ?? ''}) for parameter ${node.key} is invalid. Expected: '${expected}'.`);
}

/** The wire name of a structure member, as the SDK's EC2 query serializer writes it. */
export function wireName(memberName: string, member: NormalizedSchema, wire: Wire = 'ec2'): string {
  const traits = member.getMergedTraits();
  if (wire !== 'ec2') return (traits.xmlName as string | undefined) ?? memberName;
  if (traits.ec2QueryName) return traits.ec2QueryName as string;
  const name = (traits.xmlName as string | undefined) ?? memberName;
  return name[0]!.toUpperCase() + name.slice(1);
}

function read(schema: NormalizedSchema, node: Node, wire: Wire): unknown {
  if (schema.isStructSchema()) return readStruct(schema, node, wire);
  if (schema.isListSchema()) return readList(schema, node, wire);
  if (schema.isMapSchema()) return readMap(schema, node, wire);
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

function readStruct(schema: NormalizedSchema, node: Node, wire: Wire): Record<string, unknown> | undefined {
  if (node.value !== undefined && node.key) throw invalid(node, 'Structure');
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [memberName, member] of schema.structIterator()) {
    const name = wireName(memberName, member, wire);
    const child = node.children.get(name);
    if (!child) continue;
    seen.add(name);
    const value = read(member, child, wire);
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

function readList(schema: NormalizedSchema, node: Node, wire: Wire): unknown[] {
  // An empty list is sent as `Key=` (serializeEmptyLists); a bare value is not a list.
  if (node.value !== undefined && node.value !== '' && !node.children.size) throw invalid(node, 'List');
  const member = schema.getValueSchema();
  let items = node;
  if (wire !== 'ec2' && !schema.getMergedTraits().xmlFlattened) {
    const name = (member.getMergedTraits().xmlName as string | undefined) ?? 'member';
    for (const [k, child] of node.children) if (k !== name) throw unknown(child);
    const inner = node.children.get(name);
    if (!inner) return [];
    items = inner;
  }
  return indexed(items).map((item) => read(member, item, wire));
}

function readMap(schema: NormalizedSchema, node: Node, wire: Wire): Record<string, unknown> {
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
    out[k.value] = v ? read(schema.getValueSchema(), v, wire) : undefined;
  }
  return out;
}
