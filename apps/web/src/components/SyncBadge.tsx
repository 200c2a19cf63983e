// Where a list's changes are, in a shopper's words (the promises of DESIGN.md §1 behind them).
import type { ListStatus } from '@trolley/client';
import { t } from '../strings.ts';

export function SyncBadge({ status, pending }: { status: ListStatus; pending: number }) {
  const b = t.badge[status];
  const title = pending > 0 ? `${b.hint} (${t.waiting(pending)})` : b.hint;
  return (
    <span className={`badge badge-${status}`} title={title} data-status={status}>
      <span aria-hidden="true" className="badge-dot" />
      {b.text}
    </span>
  );
}
