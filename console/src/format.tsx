/** Shared bits of the tables: state badges, tags, dates. */
import StatusIndicator from '@cloudscape-design/components/status-indicator';
import type { StatusIndicatorProps } from '@cloudscape-design/components/status-indicator';
import type { Tag } from '@aws-sdk/client-ec2';

const TYPES: Record<string, StatusIndicatorProps.Type> = {
  available: 'success', running: 'success', completed: 'success', 'in-use': 'success',
  pending: 'pending', stopping: 'pending', 'shutting-down': 'pending', creating: 'pending',
  stopped: 'stopped', terminated: 'stopped', deregistered: 'stopped', disabled: 'stopped',
  failed: 'error', error: 'error',
};

export function State({ state, reason }: { state?: string; reason?: string }) {
  const s = state ?? 'unknown';
  return <StatusIndicator type={TYPES[s] ?? 'info'}>{s}{reason && s === 'pending' ? ` — ${reason}` : ''}</StatusIndicator>;
}

export const tagValue = (tags: Tag[] | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

export const when = (d: Date | string | undefined) => (d ? new Date(d).toLocaleString() : '-');

export const BUSY_STATES = new Set(['pending', 'stopping', 'shutting-down']);
