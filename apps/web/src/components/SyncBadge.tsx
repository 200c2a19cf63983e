// Where a list's changes are, in the words of the three promises (DESIGN.md §1).
import type { ListStatus } from '@trolley/client';

const badge: Record<ListStatus, { text: string; hint: string }> = {
  joining: { text: 'Joining…', hint: 'Waiting for the cloud to send this list' },
  local: { text: 'On this device only', hint: 'Some changes are saved here and wait to reach the cloud' },
  cloud: { text: 'Saved in the cloud', hint: 'Every change made here is stored by the cloud' },
  'all-replicas': { text: 'On all replicas', hint: 'Every copy in the cloud holds exactly this list' },
};

export function SyncBadge({ status, pending }: { status: ListStatus; pending: number }) {
  const b = badge[status];
  const title = pending > 0 ? `${b.hint} (${pending} waiting)` : b.hint;
  return (
    <span className={`badge badge-${status}`} title={title} data-status={status}>
      <span aria-hidden="true" className="badge-dot" />
      {b.text}
    </span>
  );
}
