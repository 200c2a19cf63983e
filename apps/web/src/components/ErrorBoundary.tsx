// A bug in a page must not leave a blank screen: say so, keep the data (it is in IndexedDB, not in
// React), and offer a reload.
import { t } from '../strings.ts';
import { Component, type ErrorInfo, type ReactNode } from 'react';

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | undefined }> {
  override state: { error: Error | undefined } = { error: undefined };

  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('Trolley: a page failed to draw', error, info.componentStack);
  }

  override render(): ReactNode {
    if (this.state.error === undefined) return this.props.children;
    return (
      <main className="page">
        <h1>{t.pageFailedTitle}</h1>
        <p role="alert">{t.pageFailed(this.state.error.message)}</p>
        <button type="button" className="primary" onClick={() => window.location.reload()}>
          {t.reload}
        </button>
      </main>
    );
  }
}
