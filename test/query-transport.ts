/**
 * For the Query-protocol codec tests (EC2 Query, AWS Query): what an SDK client
 * needs to send a command to nowhere, recording the request body and answering
 * with canned XML.
 */
import { Readable } from 'node:stream';

export type Exchange = { body?: string; reply?: { status: number; xml: string } };

/** Client options: no network, the request body recorded into `ex`, `ex.reply` (or `<X/>`) as the answer. */
export function cannedQueryClient(ex: Exchange) {
  return {
    endpoint: 'http://127.0.0.1:1', region: 'us-east-1', maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: {
      handle: async (req: { body?: unknown }) => {
        ex.body = String(req.body ?? '');
        const reply = ex.reply ?? { status: 200, xml: '<X/>' };
        return { response: { statusCode: reply.status, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(reply.xml)]) } };
      },
    } as never,
  };
}

/** Sends `${action}Command` from the client module `sdk` through `client`; the output without $metadata. */
export async function sendCommand(sdk: object, client: { send(c: unknown): Promise<any> }, action: string, input: object): Promise<any> {
  const Command = (sdk as Record<string, new (i: object) => unknown>)[`${action}Command`]!;
  const { $metadata: _m, ...out } = await client.send(new Command(input));
  return out;
}
