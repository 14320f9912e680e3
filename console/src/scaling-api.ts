/** The Auto Scaling client (service autoscaling, the same endpoint), in its own module: only the lazily loaded Auto Scaling pages pull the client in. */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { Session } from './api';
import { clientOf } from './api';

export const autoscaling = (s: Session): AutoScalingClient => clientOf(AutoScalingClient, s, s.region);
