import { useEffect } from 'react';
import { useCompareStore } from '../state/compare';

/** Status and errors: what happened and what to do. Errors stay until dismissed. */
export function Toasts() {
  const toasts = useCompareStore((s) => s.toasts);
  const dismiss = useCompareStore((s) => s.dismiss);
  useEffect(() => {
    const timers = toasts.filter((t) => t.kind === 'info').map((t) => setTimeout(() => dismiss(t.id), 5000));
    return () => {
      timers.forEach(clearTimeout);
    };
  }, [toasts, dismiss]);
  return (
    <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
      {toasts.map((t) => (
        <div key={t.id} className={`toast ${t.kind}`} data-testid={`toast-${t.kind}`}>
          <span>{t.text}</span>
          {t.detail && (
            <details>
              <summary>details</summary>
              <pre>{t.detail}</pre>
            </details>
          )}
          <button aria-label="Dismiss" data-testid="toast-dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
