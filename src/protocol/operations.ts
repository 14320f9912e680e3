import * as autoscaling from '@aws-sdk/client-auto-scaling';
import * as ec2 from '@aws-sdk/client-ec2';
import { NormalizedSchema } from '@smithy/core/schema';

/**
 * The services Kiln's endpoint speaks, each with its wire protocol: EC2 Query (`ec2`), and AWS Query
 * (`autoscaling`, API 2011-01-01), which differs in list names (`Key.member.N`), member names (never
 * capitalised) and the response and error envelopes.
 */
export type QueryService = 'ec2' | 'autoscaling';

/** An action's request and result schemas, as the SDK's service model defines them. */
export interface OperationModel {
  name: string;
  service: QueryService;
  input: NormalizedSchema;
  output: NormalizedSchema;
}

const OPERATION = 9;
const MODELS: Record<QueryService, Record<string, unknown>> = {
  ec2: ec2 as unknown as Record<string, unknown>,
  autoscaling: autoscaling as unknown as Record<string, unknown>,
};
const cache = new Map<string, OperationModel | null>();

/** The operation named `action` (e.g. `DescribeImages`) of `service`, or undefined when the service has no such action. */
export function findOperation(action: string, service: QueryService = 'ec2'): OperationModel | undefined {
  if (!/^[A-Z][A-Za-z0-9]{1,99}$/.test(action)) return undefined;
  const key = `${service}/${action}`;
  let op = cache.get(key);
  if (op === undefined) {
    const schema = MODELS[service][`${action}$`];
    op = null;
    if (Array.isArray(schema) && schema[0] === OPERATION) {
      const [input, output] = [schema[4], schema[5]] as Array<() => unknown>;
      op = { name: action, service, input: NormalizedSchema.of(input as never), output: NormalizedSchema.of(output as never) };
    }
    cache.set(key, op);
  }
  return op ?? undefined;
}
