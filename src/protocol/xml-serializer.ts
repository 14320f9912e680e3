/**
 * Query XML response writer, driven by the action's output schema: element
 * names are the members' xmlName (else the member name), lists are wrapped
 * `<xSet><item>…</item></xSet>` (EC2) or `<x><member>…</member></x>` (AWS
 * Query) as the model says, timestamps ISO 8601, blobs base64. Values the
 * schema does not know are left out. AWS Query wraps the members in
 * `<ActionResult>` and ends with `<ResponseMetadata>`.
 */
import type { NormalizedSchema } from '@smithy/core/schema';
import type { OperationModel } from './operations.js';

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
export const AUTOSCALING_XMLNS = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export const escapeXml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** The `<ActionResponse>` document for a handler's result. */
export function serializeResponse(op: OperationModel, output: Record<string, unknown> | undefined, requestId: string): string {
  if (op.service !== 'ec2') return awsQueryResponse(op, output, requestId);
  const parts: string[] = [`<?xml version="1.0" encoding="UTF-8"?>\n<${op.name}Response xmlns="${EC2_XMLNS}">`, `<requestId>${escapeXml(requestId)}</requestId>`];
  if (!op.output.isUnitSchema() && output) writeMembers(op.output, output, parts);
  else if (op.output.isUnitSchema()) parts.push('<return>true</return>');
  parts.push(`</${op.name}Response>`);
  return parts.join('');
}

function awsQueryResponse(op: OperationModel, output: Record<string, unknown> | undefined, requestId: string): string {
  const parts: string[] = [`<?xml version="1.0" encoding="UTF-8"?>\n<${op.name}Response xmlns="${AUTOSCALING_XMLNS}">`];
  if (!op.output.isUnitSchema()) {
    parts.push(`<${op.name}Result>`);
    if (output) writeMembers(op.output, output, parts);
    parts.push(`</${op.name}Result>`);
  }
  parts.push(`<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${op.name}Response>`);
  return parts.join('');
}

/** AWS's error envelope: EC2's `<Response><Errors>`, or AWS Query's `<ErrorResponse>` (Sender for a client fault). */
export function serializeError(code: string, message: string, requestId: string, service: OperationModel['service'] = 'ec2', status = 400): string {
  if (service !== 'ec2') {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${AUTOSCALING_XMLNS}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>`
      + `<Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`;
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${escapeXml(requestId)}</RequestID></Response>`;
}

function writeMembers(schema: NormalizedSchema, value: Record<string, unknown>, parts: string[]): void {
  for (const [memberName, member] of schema.structIterator()) {
    const v = value[memberName];
    if (v === undefined || v === null) continue;
    const tag = (member.getMemberTraits().xmlName as string | undefined) ?? memberName;
    write(member, v, tag, parts);
  }
}

function write(schema: NormalizedSchema, value: unknown, tag: string, parts: string[]): void {
  if (schema.isStructSchema()) {
    if (typeof value !== 'object') return;
    parts.push(`<${tag}>`);
    writeMembers(schema, value as Record<string, unknown>, parts);
    parts.push(`</${tag}>`);
  } else if (schema.isListSchema()) {
    if (!Array.isArray(value)) return;
    const member = schema.getValueSchema();
    const itemTag = (member.getMergedTraits().xmlName as string | undefined) ?? 'member';
    const flat = !!schema.getMergedTraits().xmlFlattened;
    if (!flat) parts.push(`<${tag}>`);
    for (const item of value) if (item !== undefined && item !== null) write(member, item, flat ? tag : itemTag, parts);
    if (!flat) parts.push(`</${tag}>`);
  } else if (schema.isMapSchema()) {
    if (typeof value !== 'object') return;
    const keyTag = (schema.getKeySchema().getMergedTraits().xmlName as string | undefined) ?? 'key';
    const valueTag = (schema.getValueSchema().getMergedTraits().xmlName as string | undefined) ?? 'value';
    const flat = !!schema.getMergedTraits().xmlFlattened;
    if (!flat) parts.push(`<${tag}>`);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined || v === null) continue;
      parts.push(`<${flat ? tag : 'entry'}><${keyTag}>${escapeXml(k)}</${keyTag}>`);
      write(schema.getValueSchema(), v, valueTag, parts);
      parts.push(`</${flat ? tag : 'entry'}>`);
    }
    if (!flat) parts.push(`</${tag}>`);
  } else {
    parts.push(`<${tag}>${escapeXml(scalar(schema, value))}</${tag}>`);
  }
}

function scalar(schema: NormalizedSchema, value: unknown): string {
  if (schema.isTimestampSchema()) {
    const d = value instanceof Date ? value : new Date(String(value));
    return Number.isNaN(d.getTime()) ? String(value) : d.toISOString();
  }
  if (schema.isBlobSchema()) {
    return typeof value === 'string' ? Buffer.from(value).toString('base64') : Buffer.from(value as Uint8Array).toString('base64');
  }
  return String(value);
}
