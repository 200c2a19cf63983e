// The offline banner: shown whenever the cloud cannot be reached, so nobody wonders where their
// changes went. They are on this device, and will sync by themselves.
import type { EngineSnapshot } from '../engine.ts';

export function ConnectionBanner({ snapshot }: { snapshot: EngineSnapshot }) {
  if (snapshot.browserOnline && snapshot.connection === 'online') return null;
  const text = !snapshot.browserOnline
    ? 'You are offline. Changes are saved on this device and will sync when you reconnect.'
    : snapshot.connection === 'connecting'
      ? 'Connecting to the cloud… Changes are saved on this device meanwhile.'
      : 'Cannot reach the cloud; retrying. Changes are saved on this device and will sync later.';
  return (
    <div className="banner" role="status" data-testid="offline-banner">
      {text}
    </div>
  );
}
