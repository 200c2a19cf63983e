// Boot: open the engine (IndexedDB, the gateway socket, the sync loop), render, and register the
// service worker that caches the app shell so the app opens with no network.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { registerSW } from 'virtual:pwa-register';
import { App } from './App.tsx';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { AppEngine, errorMessage } from './engine.ts';
import { EngineContext } from './hooks.ts';
import { t } from './strings.ts';
import './styles.css';

document.documentElement.lang = t.lang;

const root = createRoot(document.getElementById('root') as HTMLElement);

AppEngine.open().then(
  (engine) => {
    root.render(
      <StrictMode>
        <ErrorBoundary>
          <EngineContext.Provider value={engine}>
            <App />
          </EngineContext.Provider>
        </ErrorBoundary>
      </StrictMode>,
    );
  },
  (error: unknown) => {
    root.render(
      <main className="page">
        <h1>{t.storageFailedTitle}</h1>
        <p role="alert">{errorMessage(error)}</p>
        <p>{t.storageFailedHint}</p>
      </main>,
    );
  },
);

// After the page has loaded: installing the service worker (which fetches the whole app shell
// to cache it) must not compete with the first screen.
if ('serviceWorker' in navigator) {
  const register = (): void => void registerSW({ immediate: true });
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, { once: true });
}
