// The offline banner: shown whenever the app cannot go online, so nobody wonders where their
// changes went. They are on this device, and will sync by themselves. The first connection gets a
// moment before "Connecting…" shows, so that a page that connects at once does not jump.
import { useEffect, useState } from 'react';
import type { EngineSnapshot } from '../engine.ts';
import { t } from '../strings.ts';

/** How long the first connection may take before the banner says so. */
const firstConnectGraceMs = 2_000;

export function ConnectionBanner({ snapshot }: { snapshot: EngineSnapshot }) {
  const [patient, setPatient] = useState(false);
  useEffect(() => {
    const timer = window.setTimeout(() => setPatient(true), firstConnectGraceMs);
    return () => window.clearTimeout(timer);
  }, []);
  if (snapshot.browserOnline && snapshot.connection === 'online') return null;
  if (snapshot.browserOnline && snapshot.connection === 'connecting' && !patient) return null;
  const text = !snapshot.browserOnline
    ? t.offline
    : snapshot.connection === 'connecting'
      ? t.connecting
      : t.cannotReach;
  return (
    <div className="banner" role="status" data-testid="offline-banner">
      {text}
    </div>
  );
}
