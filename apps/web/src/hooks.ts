// Small React glue: the engine's snapshot as state, the hash route, and running an operation with
// its error shown to the person instead of thrown away.

import { createContext, useCallback, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { AppEngine, EngineSnapshot } from './engine.ts';
import { errorMessage } from './engine.ts';

export const EngineContext = createContext<AppEngine | undefined>(undefined);

export function useEngine(): AppEngine {
  const engine = useContext(EngineContext);
  if (engine === undefined) throw new Error('useEngine outside <EngineContext.Provider>');
  return engine;
}

/** A change just made that can be taken back for a few seconds ("Removed Milk. Undo"). */
export interface UndoOffer {
  message: string;
  /** The inverse operation, through the client: it merges like any other edit. */
  undo: () => Promise<unknown>;
}

/** Offers Undo for what was just done; the newest offer replaces the one before. */
export const UndoContext = createContext<(offer: UndoOffer) => void>(() => undefined);

export function useUndo(): (offer: UndoOffer) => void {
  return useContext(UndoContext);
}

export function useSnapshot(): EngineSnapshot {
  const engine = useEngine();
  return useSyncExternalStore(engine.subscribe, engine.snapshot);
}

/** The route from the URL fragment: `#/` (the lists) or `#/list/<id>`. */
export type Route = { page: 'lists' } | { page: 'list'; ref: string };

export function routeOf(hash: string): Route {
  const match = /^#\/list\/([^/?#]+)/.exec(hash);
  return match?.[1] === undefined ? { page: 'lists' } : { page: 'list', ref: decodeURIComponent(match[1]) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const update = (): void => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

export function navigate(route: Route): void {
  window.location.hash = route.page === 'lists' ? '#/' : `#/list/${route.ref}`;
}

/**
 * `run(task)` runs an operation; a failure (bad input, a full disk) becomes `error`, shown next to
 * the control, and the next success clears it.
 */
export function useAction(): {
  error: string | undefined;
  run: (task: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
  fail: (message: string) => void;
} {
  const [error, setError] = useState<string | undefined>();
  const run = useCallback(async (task: () => Promise<unknown>): Promise<boolean> => {
    try {
      await task();
      setError(undefined);
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    }
  }, []);
  const clear = useCallback(() => setError(undefined), []);
  return { error, run, clear, fail: setError };
}

/**
 * The gateway's public address for share links (its /app-config.json, set with
 * TROLLEY_PUBLIC_URL), asked once `wanted` is true; undefined while unknown, unset or offline:
 * share links then use this page's own address.
 */
export function usePublicBase(wanted: boolean): string | undefined {
  const [base, setBase] = useState<string | undefined>();
  useEffect(() => {
    if (!wanted) return;
    let live = true;
    fetch('app-config.json', { cache: 'no-store' })
      .then((r) => (r.ok ? (r.json() as Promise<{ publicUrl?: unknown }>) : {}))
      .then((c: { publicUrl?: unknown }) => {
        if (live && typeof c.publicUrl === 'string' && /^https?:\/\//.test(c.publicUrl)) setBase(c.publicUrl);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [wanted]);
  return base;
}
