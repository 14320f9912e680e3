/**
 * The EC2 Query and AWS Query (autoscaling) wire protocols, driven by the
 * service models that @aws-sdk/client-ec2 and @aws-sdk/client-auto-scaling export (operation schemas such as `DescribeImages$`,
 * structure schemas such as `DescribeImagesRequest$`, read through
 * `NormalizedSchema` from @smithy/core/schema). Nothing here is written per
 * action: any action's request parses and any response serializes the way AWS does.
 *
 * Implementation: protocol/query-parser.ts, protocol/xml-serializer.ts, protocol/operations.ts.
 *
 * REST-JSON (the EBS direct APIs), driven the same way by @aws-sdk/client-ebs's
 * schemas: protocol/rest-json.ts.
 */

/** A problem with the request's wire form; the API edge answers it as an AWS client error. */
export class ProtocolError extends Error {
  constructor(readonly code: string, message: string) { super(message); }
}

export type { OperationModel, QueryService } from './operations.js';
export { findOperation } from './operations.js';
export { parseQuery } from './query-parser.js';
export { serializeResponse, serializeError } from './xml-serializer.js';
export type { RestOperation, RestRequest, RestResponse } from './rest-json.js';
export { EBS, RestJsonService } from './rest-json.js';
