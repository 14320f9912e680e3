/**
 * STS, as far as Kiln has identities: GetCallerIdentity answers which account
 * a key belongs to (what `aws sts get-caller-identity` and Terraform's
 * provider ask first). Requests reach it by their SigV4 credential scope
 * (service `sts`) on the same endpoint; the wire format is awsquery (form
 * parameters in, XML out, errors in an ErrorResponse envelope).
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { ApiError } from '../api/errors.js';
import type { Caller } from '../services/core/context.js';
import { AuthError } from '../api/errors.js';

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Whether the request is signed for the `sts` service (from the Authorization header or a presigned query). */
export function isStsRequest(headers: IncomingHttpHeaders, url: URL): boolean {
  const auth = headers.authorization ?? '';
  const credential = /Credential=([^,\s]+)/.exec(auth)?.[1] ?? url.searchParams.get('X-Amz-Credential') ?? '';
  return credential.split('/')[3] === 'sts';
}

/** Answers one STS action for an authenticated caller; throws for anything but GetCallerIdentity. */
export function stsAction(caller: Caller, params: URLSearchParams, requestId: string): string {
  const action = params.get('Action');
  if (!action) throw new ApiError('MissingAction', 'Missing Action');
  if (action !== 'GetCallerIdentity') {
    throw new ApiError('InvalidAction', `Could not find operation ${action} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
  }
  const account = esc(caller.account);
  return `<GetCallerIdentityResponse xmlns="${XMLNS}"><GetCallerIdentityResult>`
    + `<Arn>arn:aws:iam::${account}:root</Arn><UserId>${account}</UserId><Account>${account}</Account>`
    + `</GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
}

/** The code and status an error leaving an STS request answers with (STS's names where they differ from EC2's). */
function stsCode(err: unknown, fallback: ApiError): { code: string; message: string; status: number } {
  // STS names a bad signature SignatureDoesNotMatch and an unknown key InvalidClientTokenId, both 403.
  if (err instanceof AuthError && err.code === 'AuthFailure' && /validate the provided access credentials/.test(err.message)) {
    return { code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.', status: 403 };
  }
  return { code: fallback.code, message: fallback.message, status: fallback.status === 401 ? 403 : fallback.status };
}

/** Writes AWS's awsquery error envelope for an STS request. `apiErr` is the edge's mapping of `err`. */
export function sendStsError(res: ServerResponse, err: unknown, apiErr: ApiError, requestId: string): void {
  const { code, message, status } = stsCode(err, apiErr);
  const body = `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>`
    + `<Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }).end(body);
}
