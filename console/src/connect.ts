/**
 * Instances > Connect's socket: the WebSocket URL of /_kiln/connect/{id} on this origin, presigned with SigV4
 * (query string: a browser's WebSocket cannot send an Authorization header) for ec2 in the session's region,
 * valid for a minute, with the terminal's first size. The server checks it as it checks the API's requests.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { Session } from './api';
import { ec2 } from './api';

export async function connectUrl(s: Session, id: string, cols: number, rows: number): Promise<string> {
  const { host, hostname, port, protocol: page } = window.location;
  const protocol = page === 'https:' ? 'wss:' : 'ws:';
  // The SDK's own hash (its browser build), so signing works on a plain-http origin too, where WebCrypto is absent.
  const signer = new SignatureV4({
    service: 'ec2', region: s.region, sha256: ec2(s).config.sha256,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
  const signed = await signer.presign({
    method: 'GET', protocol, hostname, port: port ? Number(port) : undefined, path: `/_kiln/connect/${encodeURIComponent(id)}`,
    query: { cols: String(cols), rows: String(rows) }, headers: { host },
  }, { expiresIn: 60 });
  const query = new URLSearchParams(signed.query as Record<string, string>);
  return `${protocol}//${host}${signed.path}?${query}`;
}

/** The wire's one control message (text frame); keys typed go as binary frames. */
export const resizeMessage = (cols: number, rows: number) => JSON.stringify({ type: 'resize', cols, rows });
