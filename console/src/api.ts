/**
 * The console is one more EC2 API client: the browser signs every call with SigV4 (the SDK's browser build)
 * against this page's own origin, with the keys the user signed in with (kept in sessionStorage only).
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

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

/** A client of the signed-in session for `make`'s service (one per keys and region), signed for this origin. */
interface ClientConfig { endpoint: string; region: string; maxAttempts: number; credentials: { accessKeyId: string; secretAccessKey: string } }

function clientOf<C>(make: new (config: ClientConfig) => C, s: Session, region: string): C {
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

/** The Auto Scaling client (service autoscaling, the same endpoint). */
export const autoscaling = (s: Session): AutoScalingClient => clientOf(AutoScalingClient, s, s.region);

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
