// Sharing is the list's ID: whoever has the link can open and change the list. Copy it, hand it
// over with the system share sheet, or let someone scan it.
import { useEffect, useState } from 'react';
import QRCode from 'qrcode';

export function SharePanel({ link, onClose }: { link: string; onClose: () => void }) {
  const [qr, setQr] = useState<string | undefined>();
  const [copied, setCopied] = useState('');
  useEffect(() => {
    let live = true;
    QRCode.toDataURL(link, { margin: 1, width: 240 })
      .then((url) => live && setQr(url))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [link]);

  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(link);
      setCopied('Link copied.');
    } catch {
      setCopied('Could not copy here: select the link and copy it yourself.');
    }
  };
  const canShare = typeof navigator.share === 'function';

  return (
    <section className="share" aria-labelledby="share-heading">
      <h2 id="share-heading">Share this list</h2>
      <p>Anyone with this link can see and change the list.</p>
      <label htmlFor="share-link" className="visually-hidden">
        Share link
      </label>
      <input
        id="share-link"
        readOnly
        value={link}
        onFocus={(e) => e.currentTarget.select()}
        data-testid="share-link"
      />
      <div className="share-actions">
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy link
        </button>
        {canShare && (
          <button
            type="button"
            onClick={() => void navigator.share({ title: 'Trolley list', url: link }).catch(() => undefined)}
          >
            Share…
          </button>
        )}
        <button type="button" onClick={onClose}>
          Done
        </button>
      </div>
      <p role="status" className="quiet">
        {copied}
      </p>
      {qr !== undefined && (
        <img className="qr" src={qr} width={240} height={240} alt="QR code of the share link" />
      )}
    </section>
  );
}
