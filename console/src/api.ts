/**
 * The console is one more EC2 API client: the browser signs every call with SigV4 (the SDK's browser build)
 * against this page's own origin, with the keys the user signed in with (kept in sessionStorage only).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

export interface Session { accessKeyId: string; secretAccessKey: string; region: string; account?: string }

const KEY = 'kiln-console-session';

export function loadSession(): Session | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return s && s.accessKeyId && s.secretAccessKey && s.region ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(s: Session | undefined): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

const cached = new Map<unknown, { key: string; client: unknown }>();

interface ClientConfig { endpoint: string; region: string; maxAttempts: number; credentials: { accessKeyId: string; secretAccessKey: string } }

/** A client of the signed-in session for `make`'s service (one per keys and region), signed for this origin. */
export function clientOf<C>(make: new (config: ClientConfig) => C, s: Session, region: string): C {
  const key = `${s.accessKeyId}/${region}`;
  const hit = cached.get(make);
  if (hit?.key === key) return hit.client as C;
  const client = new make({
    endpoint: window.location.origin, region, maxAttempts: 1,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
  if (region === s.region) cached.set(make, { key, client });
  return client;
}

/** The EC2 client of the signed-in session. */
export const ec2 = (s: Session, region = s.region): EC2Client => clientOf(EC2Client, s, region);


/** The account the keys belong to (STS GetCallerIdentity on the same endpoint); throws when the keys are refused. */
export async function whoAmI(s: Session): Promise<string> {
  const sts = new STSClient({
    endpoint: window.location.origin, region: s.region, maxAttempts: 1,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
  const out = await sts.send(new GetCallerIdentityCommand({}));
  return out.Account ?? '';
}

/** AWS's error code and message, as the console shows them. */
export function describeError(err: unknown): { code: string; message: string } {
  const e = err as { name?: string; Code?: string; message?: string };
  return { code: e.Code ?? e.name ?? 'Error', message: e.message ?? String(err) };
}

/** A product of Kiln's marketplace as the signed-in account sees it (GET /_kiln/marketplace/products). */
export interface Product {
  productCode: string;
  title: string;
  description?: string;
  vendor: { id: string; alias?: string };
  price: number;
  imageIds: string[];
  subscribed: boolean;
  createdAt: string;
}

/**
 * A call to the marketplace API (JSON under /_kiln/marketplace/), signed with the session's keys for the service
 * `aws-marketplace` by the SDK's own SigV4 signer; an error answer is thrown as `{ name: code, message }`.
 */
export async function marketplace<T>(s: Session, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const url = new URL(`/_kiln/marketplace/${path}`, window.location.origin);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const signer = new SignatureV4({
    service: 'aws-marketplace', region: s.region, sha256: Sha256,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
  const signed = await signer.sign({
    method, protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname, query: {},
    headers: { host: url.host, ...(text ? { 'content-type': 'application/json' } : {}) }, body: text,
  });
  const { host: _host, ...headers } = signed.headers;
  const res = await fetch(url, { method, headers, body: text });
  const json = (await res.json()) as T & { error?: { code: string; message: string } };
  if (!res.ok) throw Object.assign(new Error(json.error?.message ?? res.statusText), { name: json.error?.code ?? String(res.status) });
  return json;
}
