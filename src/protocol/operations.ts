import * as ec2 from '@aws-sdk/client-ec2';
import { NormalizedSchema } from '@smithy/core/schema';

/** An EC2 action's request and result schemas, as the SDK's service model defines them. */
export interface OperationModel {
  name: string;
  input: NormalizedSchema;
  output: NormalizedSchema;
}

const OPERATION = 9;
const cache = new Map<string, OperationModel | null>();
const exported = ec2 as unknown as Record<string, unknown>;

/** The operation named `action` (e.g. `DescribeImages`), or undefined when EC2 has no such action. */
export function findOperation(action: string): OperationModel | undefined {
  if (!/^[A-Z][A-Za-z0-9]{1,99}$/.test(action)) return undefined;
  let op = cache.get(action);
  if (op === undefined) {
    const schema = exported[`${action}$`];
    op = null;
    if (Array.isArray(schema) && schema[0] === OPERATION) {
      const [input, output] = [schema[4], schema[5]] as Array<() => unknown>;
      op = { name: action, input: NormalizedSchema.of(input as never), output: NormalizedSchema.of(output as never) };
    }
    cache.set(action, op);
  }
  return op ?? undefined;
}
