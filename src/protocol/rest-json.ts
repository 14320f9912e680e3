/**
 * The REST-JSON wire protocol (awsRestJson1), driven by the schemas an SDK
 * client package exports (`StartSnapshot$`, `ValidationException$` ... from
 * @aws-sdk/client-ebs), read through `NormalizedSchema`. An operation's http
 * trait (method, URI template, success code) routes the request; its input
 * members bound to httpLabel, httpQuery, httpHeader and httpPayload are read
 * from the path, the query string, the headers and the body, the others from
 * a JSON body; the output is written back the same way, and an error as
 * `x-amzn-ErrorType` plus a JSON body with the status its error shape's
 * httpError trait gives. Nothing here is written per operation or per service.
 */
import * as ebs from '@aws-sdk/client-ebs';
import { NormalizedSchema } from '@smithy/core/schema';
import { ProtocolError } from './protocol.js';

const OPERATION = 9;
const ERROR = -3;

export interface RestOperation {
  name: string;
  method: string;
  /** The URI template, e.g. /snapshots/{SnapshotId}/blocks/{BlockIndex}. */
  uri: string;
  /** The status a success answers with. */
  code: number;
  input: NormalizedSchema;
  output: NormalizedSchema;
  path: RegExp;
  labels: string[];
}

/** A request as the protocol reads it: labels are the path's raw (percent-encoded) segments. */
export interface RestRequest {
  labels: Record<string, string>;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface RestResponse { status: number; headers: Record<string, string>; body: Buffer }

export class RestJsonService {
  readonly operations: RestOperation[] = [];
  private readonly errors = new Map<string, NormalizedSchema>();

  /** `exported`: an SDK client package's exports (its operation and error schemas are among them). */
  constructor(exported: Record<string, unknown>) {
    for (const [key, schema] of Object.entries(exported)) {
      if (!key.endsWith('$') || !Array.isArray(schema)) continue;
      if (schema[0] === OPERATION && schema[3]?.http) this.operations.push(operation(schema));
      else if (schema[0] === ERROR && schema[3]?.error) this.errors.set(schema[2] as string, NormalizedSchema.of(schema as never));
    }
    // Literal segments win over labels where two templates could both match (/snapshots/completion/x).
    this.operations.sort((a, b) => literals(b.uri) - literals(a.uri));
  }

  /** The operation whose method and URI template match, with its labels; 'method' when only another method's does. */
  match(method: string, path: string): { op: RestOperation; labels: Record<string, string> } | 'method' | undefined {
    let other = false;
    for (const op of this.operations) {
      const m = op.path.exec(path);
      if (!m) continue;
      if (op.method !== method) { other = true; continue; }
      return { op, labels: Object.fromEntries(op.labels.map((l, i) => [l, m[i + 1]!])) };
    }
    return other ? 'method' : undefined;
  }

  /** The operation's input object (SDK member names and types) from the request. */
  parse(op: RestOperation, req: RestRequest): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const bodyMembers: Array<[string, NormalizedSchema]> = [];
    for (const [name, member] of op.input.structIterator()) {
      const t = member.getMergedTraits();
      let v: unknown;
      if (t.httpLabel) v = text(member, decode(req.labels[name] ?? ''), name, 'label');
      else if (t.httpQuery) v = query(member, req.query.getAll(t.httpQuery as string), t.httpQuery as string);
      else if (t.httpHeader) {
        const raw = req.headers[(t.httpHeader as string).toLowerCase()];
        v = raw === undefined ? undefined : text(member, raw, t.httpHeader as string, 'header');
      } else if (t.httpPayload) v = payload(member, req.body);
      else bodyMembers.push([name, member]);
      if (v !== undefined) out[name] = v;
    }
    if (bodyMembers.length && req.body.length) {
      const doc = parseJson(req.body);
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ProtocolError('SerializationException', 'The request body must be a JSON object');
      for (const [name, member] of bodyMembers) {
        const raw = (doc as Record<string, unknown>)[jsonName(name, member)];
        if (raw !== undefined && raw !== null) out[name] = readJson(member, raw, name);
      }
    }
    checkRequired(op.input, out);
    return out;
  }

  /** The answer for a handler's result. */
  serialize(op: RestOperation, output: Record<string, unknown> | undefined): RestResponse {
    const headers: Record<string, string> = {};
    const doc: Record<string, unknown> = {};
    let status = op.code;
    let body: Buffer | undefined;
    for (const [name, member] of op.output.structIterator()) {
      const v = output?.[name];
      if (v === undefined || v === null) continue;
      const t = member.getMergedTraits();
      if (t.httpHeader) headers[t.httpHeader as string] = headerText(member, v);
      else if (t.httpResponseCode) status = Number(v);
      else if (t.httpPayload) {
        body = member.isBlobSchema() ? Buffer.from(v as Uint8Array) : Buffer.from(typeof v === 'string' ? v : JSON.stringify(writeJson(member, v)));
        headers['Content-Type'] = member.isBlobSchema() ? 'application/octet-stream' : member.isStringSchema() ? 'text/plain' : 'application/json';
      } else doc[jsonName(name, member)] = writeJson(member, v);
    }
    if (!body) {
      body = Buffer.from(JSON.stringify(doc));
      headers['Content-Type'] = 'application/json';
    }
    return { status, headers, body };
  }

  /** The status the model gives the error `code` (its httpError trait), or undefined when the model has no such error. */
  errorStatus(code: string): number | undefined {
    const schema = this.errors.get(code);
    if (!schema) return undefined;
    const t = schema.getMergedTraits();
    return (t.httpError as number | undefined) ?? (t.error === 'server' ? 500 : 400);
  }

  /** An error answer: `x-amzn-ErrorType: code`, and a JSON body with the message and the error shape's other members in `fields`. */
  serializeError(code: string, message: string, status: number, fields: Record<string, string> = {}): RestResponse {
    const doc: Record<string, unknown> = { message };
    const schema = this.errors.get(code);
    if (schema) {
      for (const [name, member] of schema.structIterator()) {
        if (name !== 'Message' && fields[name] !== undefined) doc[jsonName(name, member)] = fields[name];
      }
    }
    return {
      status: this.errorStatus(code) ?? status,
      headers: { 'x-amzn-ErrorType': code, 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify(doc)),
    };
  }
}

function operation(schema: unknown[]): RestOperation {
  const [method, uri, code] = (schema[3] as { http: [string, string, number] }).http;
  const labels: string[] = [];
  const pathPart = uri.split('?')[0]!;
  const source = pathPart.split('/').map((seg) => {
    const m = /^\{(\w+)(\+)?\}$/.exec(seg);
    if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    labels.push(m[1]!);
    return m[2] ? '(.+)' : '([^/]+)';
  }).join('/');
  return {
    name: schema[2] as string, method, uri, code,
    input: NormalizedSchema.of(schema[4] as never), output: NormalizedSchema.of(schema[5] as never),
    path: new RegExp(`^${source}/?$`), labels,
  };
}

function literals(uri: string): number {
  return uri.split('?')[0]!.split('/').filter((s) => s && !s.startsWith('{')).length;
}

function decode(s: string): string {
  try { return decodeURIComponent(s); } catch { throw new ProtocolError('ValidationException', `The path segment '${s}' is not validly percent-encoded`); }
}

function parseJson(body: Buffer): unknown {
  try { return JSON.parse(body.toString('utf8')); } catch { throw new ProtocolError('SerializationException', 'The request body is not valid JSON'); }
}

function jsonName(name: string, member: NormalizedSchema): string {
  return (member.getMergedTraits().jsonName as string | undefined) ?? name;
}

function invalid(where: string, value: unknown, expected: string): ProtocolError {
  return new ProtocolError('ValidationException', `Value '${String(value)}' at '${where}' failed to satisfy constraint: Member must be ${expected}`);
}

/** The timestamp format a member asks for (its schema: 5 date-time, 6 http-date, 7 epoch-seconds), else the location's default. */
function timestampFormat(member: NormalizedSchema, fallback: 'date-time' | 'http-date' | 'epoch-seconds'): string {
  const s = member.getSchema() as unknown;
  return s === 5 ? 'date-time' : s === 6 ? 'http-date' : s === 7 ? 'epoch-seconds' : fallback;
}

/** A label, query or header value as the member's type. */
function text(member: NormalizedSchema, raw: string, where: string, location: 'label' | 'query' | 'header'): unknown {
  if (member.isBooleanSchema()) {
    if (raw === 'true' || raw === 'false') return raw === 'true';
    throw invalid(where, raw, 'a boolean');
  }
  if (member.isNumericSchema() || member.isBigIntegerSchema() || member.isBigDecimalSchema()) {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw invalid(where, raw, 'a number');
    return n;
  }
  if (member.isTimestampSchema()) {
    const fmt = timestampFormat(member, location === 'header' ? 'http-date' : 'date-time');
    const d = fmt === 'epoch-seconds' ? new Date(Number(raw) * 1000) : new Date(raw);
    if (Number.isNaN(d.getTime())) throw invalid(where, raw, 'a timestamp');
    return d;
  }
  if (member.isBlobSchema()) return new Uint8Array(Buffer.from(raw, 'base64'));
  return raw;
}

function query(member: NormalizedSchema, values: string[], where: string): unknown {
  if (!values.length) return undefined;
  if (member.isListSchema()) return values.map((v) => text(member.getValueSchema(), v, where, 'query'));
  return text(member, values[values.length - 1]!, where, 'query');
}

function payload(member: NormalizedSchema, body: Buffer): unknown {
  if (member.isBlobSchema()) return new Uint8Array(body.buffer, body.byteOffset, body.length);
  if (!body.length) return undefined;
  if (member.isStringSchema()) return body.toString('utf8');
  return readJson(member, parseJson(body), member.getMemberName());
}

function readJson(member: NormalizedSchema, v: unknown, where: string): unknown {
  if (member.isStructSchema()) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(where, JSON.stringify(v), 'a structure');
    const out: Record<string, unknown> = {};
    for (const [name, m] of member.structIterator()) {
      const raw = (v as Record<string, unknown>)[jsonName(name, m)];
      if (raw !== undefined && raw !== null) out[name] = readJson(m, raw, `${where}.${name}`);
    }
    checkRequired(member, out, where);
    return out;
  }
  if (member.isListSchema()) {
    if (!Array.isArray(v)) throw invalid(where, JSON.stringify(v), 'a list');
    return v.map((item, i) => readJson(member.getValueSchema(), item, `${where}.${i + 1}.member`));
  }
  if (member.isMapSchema()) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(where, JSON.stringify(v), 'a map');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, readJson(member.getValueSchema(), x, `${where}.${k}`)]));
  }
  if (member.isBooleanSchema()) {
    if (typeof v !== 'boolean') throw invalid(where, v, 'a boolean');
    return v;
  }
  if (member.isNumericSchema() || member.isBigIntegerSchema() || member.isBigDecimalSchema()) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(where, v, 'a number');
    return v;
  }
  if (member.isTimestampSchema()) {
    const fmt = timestampFormat(member, 'epoch-seconds');
    const d = fmt === 'epoch-seconds' && typeof v === 'number' ? new Date(v * 1000) : new Date(String(v));
    if (Number.isNaN(d.getTime())) throw invalid(where, v, 'a timestamp');
    return d;
  }
  if (member.isBlobSchema()) return new Uint8Array(Buffer.from(String(v), 'base64'));
  if (typeof v !== 'string') throw invalid(where, JSON.stringify(v), 'a string');
  return v;
}

function writeJson(member: NormalizedSchema, v: unknown): unknown {
  if (member.isStructSchema()) {
    const out: Record<string, unknown> = {};
    for (const [name, m] of member.structIterator()) {
      const x = (v as Record<string, unknown>)[name];
      if (x !== undefined && x !== null) out[jsonName(name, m)] = writeJson(m, x);
    }
    return out;
  }
  if (member.isListSchema()) return (v as unknown[]).filter((x) => x !== undefined && x !== null).map((x) => writeJson(member.getValueSchema(), x));
  if (member.isMapSchema()) {
    return Object.fromEntries(Object.entries(v as object).filter(([, x]) => x !== undefined && x !== null).map(([k, x]) => [k, writeJson(member.getValueSchema(), x)]));
  }
  if (member.isTimestampSchema()) {
    const d = v instanceof Date ? v : new Date(String(v));
    const fmt = timestampFormat(member, 'epoch-seconds');
    return fmt === 'epoch-seconds' ? d.getTime() / 1000 : fmt === 'http-date' ? d.toUTCString() : d.toISOString();
  }
  if (member.isBlobSchema()) return Buffer.from(v as Uint8Array).toString('base64');
  return v;
}

function headerText(member: NormalizedSchema, v: unknown): string {
  if (member.isTimestampSchema()) {
    const d = v instanceof Date ? v : new Date(String(v));
    const fmt = timestampFormat(member, 'http-date');
    return fmt === 'epoch-seconds' ? String(d.getTime() / 1000) : fmt === 'date-time' ? d.toISOString() : d.toUTCString();
  }
  if (member.isBlobSchema()) return Buffer.from(v as Uint8Array).toString('base64');
  return String(v);
}

/** The model's required members (a structure schema's first N members; N is its seventh element) must be present. */
function checkRequired(schema: NormalizedSchema, value: Record<string, unknown>, where = ''): void {
  const raw = schema.getSchema() as unknown[];
  const n = typeof raw[6] === 'number' ? raw[6] : 0;
  const names = raw[4] as string[];
  for (const name of names.slice(0, n)) {
    if (value[name] === undefined) {
      throw new ProtocolError('ValidationException', `Value null at '${where ? `${where}.` : ''}${name}' failed to satisfy constraint: Member must not be null`);
    }
  }
}

/** The EBS direct APIs (ebs, 2019-11-02), as @aws-sdk/client-ebs models them. */
export const EBS = new RestJsonService(ebs as unknown as Record<string, unknown>);
