import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../api/errors.js';

/** No request Kiln serves (EC2 Query or admin JSON) comes near this. */
export const MAX_BODY = 1024 * 1024;

/**
 * How much of a refused body is still read (and thrown away), and for how long, so that the client can finish
 * sending and read the answer. Closing a socket with unread data in its receive buffer (or data still arriving)
 * makes the kernel send an RST, and the client sees ECONNRESET / EPIPE instead of the 413. Past these bounds the
 * client is not one that will ever read the answer, and the connection is dropped.
 */
export const MAX_DISCARD = 64 * 1024 * 1024;
export const DISCARD_MS = 10_000;

/**
 * The whole request body. Over MAX_BODY it is refused with 413 RequestEntityTooLarge at once, but the rest of the body
 * is still read and discarded (up to MAX_DISCARD bytes / DISCARD_MS) rather than the socket destroyed under the
 * client: answer such a request with endAfterBody, so that the client can read the answer and the connection closes cleanly.
 */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (refused) {
        if (size > MAX_BODY + MAX_DISCARD) req.destroy();
        return;
      }
      if (size > MAX_BODY) {
        refused = true;
        chunks.length = 0;
        const timer = setTimeout(() => req.destroy(), DISCARD_MS).unref();
        req.once('close', () => clearTimeout(timer));
        reject(new ApiError('RequestEntityTooLarge', `Request body is larger than ${MAX_BODY} bytes`, 413));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => { if (!refused) resolve(Buffer.concat(chunks)); });
    // Stays attached after a refusal: a client that hangs up mid-body must not become an unhandled 'error'.
    req.on('error', reject);
  });
}

/**
 * Writes `last` (all that is left of the answer, whose head the caller has set: with a Content-Length, so that the
 * client knows the answer is whole) and ends `res` once the client has finished sending its body (discarded) or the
 * request is gone. Ending it at once, with `Connection: close`, would have node close the socket while the client is
 * still sending, and its unread data would reset the connection before the client read the answer.
 */
export function endAfterBody(req: IncomingMessage, res: ServerResponse, last: string | Buffer): void {
  res.write(last);
  if (req.complete || req.destroyed) {
    res.end();
    return;
  }
  const end = () => { if (!res.writableEnded) res.end(); };
  req.once('end', end);
  req.once('close', end);
  req.resume();
}
