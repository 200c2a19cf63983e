// Sharing is the list's ID: whoever has the link can open and change the list. Copy it, hand it
// over with the system share sheet, or let someone scan it. A link that points at this computer
// only (127.0.0.1, localhost) says so: a phone could not open it.
import { useEffect, useState } from 'react';
import { loopbackHost } from '../platform.ts';
import { t } from '../strings.ts';

export function SharePanel({ link, onClose }: { link: string; onClose: () => void }) {
  const [qr, setQr] = useState<string | undefined>();
  const [copied, setCopied] = useState('');
  useEffect(() => {
    let live = true;
    // The QR code library is loaded only when someone shares: the first screen does not need it.
    import('qrcode')
      .then((QRCode) => QRCode.toDataURL(link, { margin: 1, width: 240 }))
      .then((url) => live && setQr(url))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [link]);

  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(link);
      setCopied(t.copied);
    } catch {
      setCopied(t.cannotCopy);
    }
  };
  const canShare = typeof navigator.share === 'function';
  const loopback = loopbackHost(link);

  return (
    <section className="share" aria-labelledby="share-heading">
      <h2 id="share-heading">{t.shareTitle}</h2>
      <p>{t.shareExplain}</p>
      <label htmlFor="share-link" className="visually-hidden">
        {t.shareLink}
      </label>
      <input
        id="share-link"
        readOnly
        value={link}
        onFocus={(e) => e.currentTarget.select()}
        data-testid="share-link"
      />
      {loopback !== undefined && (
        <p className="warning" data-testid="loopback-warning">
          {t.loopbackWarning(loopback)}
        </p>
      )}
      <div className="share-actions">
        <button type="button" className="primary" onClick={() => void copy()}>
          {t.copyLink}
        </button>
        {canShare && (
          <button
            type="button"
            onClick={() => void navigator.share({ title: 'Trolley', url: link }).catch(() => undefined)}
          >
            {t.shareSheet}
          </button>
        )}
        <button type="button" onClick={onClose}>
          {t.done}
        </button>
      </div>
      <p role="status" className="quiet">
        {copied}
      </p>
      {qr !== undefined && <img className="qr" src={qr} width={240} height={240} alt={t.qrAlt} />}
    </section>
  );
}
