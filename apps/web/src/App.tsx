// The app: a header, the offline banner, and the page the URL fragment names.
import { ConnectionBanner } from './components/ConnectionBanner.tsx';
import { ListPage } from './components/ListPage.tsx';
import { ListsPage } from './components/ListsPage.tsx';
import { useRoute, useSnapshot } from './hooks.ts';

export function App() {
  const route = useRoute();
  const snapshot = useSnapshot();
  return (
    <>
      <header className="top">
        <a href="#/" className="brand" aria-label="Trolley, all lists">
          <img src="icon.svg" alt="" width={28} height={28} />
          Trolley
        </a>
      </header>
      <ConnectionBanner snapshot={snapshot} />
      {route.page === 'lists' ? <ListsPage /> : <ListPage key={route.ref} listRef={route.ref} />}
    </>
  );
}
