// Boot: open the engine (IndexedDB, the gateway socket, the sync loop), render, and then register
// the service worker that caches the app shell so the app opens with no network. index.html holds
// the app's header, so the page paints before this script has run; the first render takes it over.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { registerSW } from 'virtual:pwa-register';
import { App, preloadListPage } from './App.tsx';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { AppEngine, errorMessage } from './engine.ts';
import { EngineContext, routeOf } from './hooks.ts';
import { t } from './strings.ts';
import './styles.css';

document.documentElement.lang = t.lang;

const root = createRoot(document.getElementById('root') as HTMLElement);

/**
 * Lets the browser paint and handle input before the next piece of start-up work: opening the
 * engine and rendering the first screen are two tasks, not one long one (on a slow phone, a long
 * task is a page that does not answer a tap).
 */
const yieldToBrowser = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Runs `work` when the browser has nothing better to do (soon, where it cannot say). */
const whenIdle = (work: () => void): void =>
  void ('requestIdleCallback' in window
    ? requestIdleCallback(work, { timeout: 2_000 })
    : setTimeout(work, 500));

// A list's link opened directly: fetch the list page's chunk while the engine opens.
if (routeOf(window.location.hash).page === 'list') preloadListPage();

AppEngine.open().then(
  async (engine) => {
    await yieldToBrowser();
    root.render(
      <StrictMode>
        <ErrorBoundary>
          <EngineContext.Provider value={engine}>
            <App />
          </EngineContext.Provider>
        </ErrorBoundary>
      </StrictMode>,
    );
    afterFirstScreen();
  },
  (error: unknown) => {
    root.render(
      <main className="page">
        <h1>{t.storageFailedTitle}</h1>
        <p role="alert">{errorMessage(error)}</p>
        <p>{t.storageFailedHint}</p>
      </main>,
    );
    afterFirstScreen();
  },
);

/**
 * Once the first screen is up and the browser is idle: register the service worker (its install
 * fetches the whole app shell to cache it, so that the app opens with no network) and fetch the
 * list page's chunk ahead of use. Neither may compete with the first screen on a slow phone.
 */
function afterFirstScreen(): void {
  whenIdle(() => {
    preloadListPage();
    if (!('serviceWorker' in navigator)) return;
    const register = (): void => void registerSW({ immediate: true });
    if (document.readyState === 'complete') register();
    else window.addEventListener('load', register, { once: true });
  });
}
