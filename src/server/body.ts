import type { IncomingMessage } from 'node:http';
import { ApiError } from '../api/errors.js';

/** No request Kiln serves (EC2 Query or admin JSON) comes near this. */
export const MAX_BODY = 1024 * 1024;

/** The whole request body; over MAX_BODY the request is refused with 413 RequestEntityTooLarge and the stream dropped. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError('RequestEntityTooLarge', `Request body is larger than ${MAX_BODY} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
