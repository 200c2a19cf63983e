// The offline banner: shown whenever the app cannot go online, so nobody wonders where their
// changes went. They are on this device, and will sync by themselves.
import type { EngineSnapshot } from '../engine.ts';
import { t } from '../strings.ts';

export function ConnectionBanner({ snapshot }: { snapshot: EngineSnapshot }) {
  if (snapshot.browserOnline && snapshot.connection === 'online') return null;
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
