// The Undo bar: what was just done, and a button that takes it back, for a few seconds. Undo runs
// the inverse operation through the client (an edit like any other), so it merges correctly with
// whatever someone else changed meanwhile.
import { useEffect, useState } from 'react';
import type { UndoOffer } from '../hooks.ts';
import { errorMessage } from '../engine.ts';
import { t } from '../strings.ts';

/** How long an Undo is offered. */
export const undoShownMs = 8_000;

export function UndoBar({
  offer,
  onDone,
}: {
  offer: (UndoOffer & { id: number }) | undefined;
  onDone: () => void;
}) {
  const [note, setNote] = useState<string | undefined>();
  useEffect(() => {
    if (offer === undefined) return;
    setNote(undefined);
    const timer = window.setTimeout(onDone, undoShownMs);
    return () => window.clearTimeout(timer);
  }, [offer, onDone]);
  useEffect(() => {
    if (note === undefined) return;
    const timer = window.setTimeout(() => setNote(undefined), 3_000);
    return () => window.clearTimeout(timer);
  }, [note]);
  const text = offer?.message ?? note;
  return (
    <div
      className="undo-bar"
      role="status"
      aria-live="polite"
      data-testid="undo-bar"
      hidden={text === undefined}
    >
      {text !== undefined && <span>{text}</span>}
      {offer !== undefined && (
        <button
          type="button"
          onClick={() => {
            onDone();
            offer.undo().then(
              () => setNote(t.undone),
              (e: unknown) => setNote(errorMessage(e)),
            );
          }}
        >
          {t.undo}
        </button>
      )}
    </div>
  );
}
