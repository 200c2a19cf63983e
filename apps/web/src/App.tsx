// The app: a header, the offline banner, the page the URL fragment names, and the Undo bar.
import { lazy, Suspense, useCallback, useState } from 'react';
import { ConnectionBanner } from './components/ConnectionBanner.tsx';
import { ListsPage } from './components/ListsPage.tsx';
import { UndoBar } from './components/UndoBar.tsx';
import { UndoContext, useRoute, useSnapshot, type UndoOffer } from './hooks.ts';
import { t } from './strings.ts';

/**
 * A list's page, with its rows, share and history panels, is a chunk of its own: the first screen
 * (the lists) does not wait for it. It is fetched once the first screen is up (`preloadListPage`)
 * and is in the service worker's cache, so opening a list does not wait for the network either.
 */
const loadListPage = () => import('./components/ListPage.tsx');
const ListPage = lazy(() => loadListPage().then((m) => ({ default: m.ListPage })));

/** Fetches the list page's chunk ahead of its first use (called when the browser is idle). */
export function preloadListPage(): void {
  void loadListPage().catch(() => undefined);
}

export function App() {
  const route = useRoute();
  const snapshot = useSnapshot();
  const [offer, setOffer] = useState<(UndoOffer & { id: number }) | undefined>();
  const offerUndo = useCallback((o: UndoOffer) => setOffer({ ...o, id: Date.now() }), []);
  const dismiss = useCallback(() => setOffer(undefined), []);
  return (
    <UndoContext.Provider value={offerUndo}>
      <header className="top">
        <a href="#/" className="brand" aria-label={t.allLists}>
          <img src="icon.svg" alt="" width={28} height={28} />
          {t.brand}
        </a>
      </header>
      <ConnectionBanner snapshot={snapshot} />
      {route.page === 'lists' ? (
        <ListsPage />
      ) : (
        <Suspense fallback={<main className="page" aria-busy="true" />}>
          <ListPage key={route.ref} listRef={route.ref} />
        </Suspense>
      )}
      <UndoBar offer={offer} onDone={dismiss} />
    </UndoContext.Provider>
  );
}
