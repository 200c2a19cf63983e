// The app: a header, the offline banner, the page the URL fragment names, and the Undo bar.
import { useCallback, useState } from 'react';
import { ConnectionBanner } from './components/ConnectionBanner.tsx';
import { ListPage } from './components/ListPage.tsx';
import { ListsPage } from './components/ListsPage.tsx';
import { UndoBar } from './components/UndoBar.tsx';
import { UndoContext, useRoute, useSnapshot, type UndoOffer } from './hooks.ts';
import { t } from './strings.ts';

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
      {route.page === 'lists' ? <ListsPage /> : <ListPage key={route.ref} listRef={route.ref} />}
      <UndoBar offer={offer} onDone={dismiss} />
    </UndoContext.Provider>
  );
}
