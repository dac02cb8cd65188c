import type { KeyboardEvent } from 'react';

/**
 * Inline confirmation for a destructive action. Focus starts on Cancel, the safe choice, and
 * Escape cancels. The caller puts focus back on the button that opened it (see useReturnFocus).
 */
export function InlineConfirm(props: {
  /** Accessible name of the group, such as "Confirm removing alpha". */
  label: string;
  question: string;
  confirmText: string;
  /** Prefix of the buttons' test ids: `${testIdPrefix}-confirm` and `${testIdPrefix}-cancel`. */
  testIdPrefix: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { label, question, confirmText, testIdPrefix, onConfirm, onCancel } = props;

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    event.stopPropagation();
    onCancel();
  };

  return (
    <div role="group" aria-label={label} className="confirm" onKeyDown={onKeyDown}>
      <span>{question}</span>
      <button type="button" className="danger" data-testid={`${testIdPrefix}-confirm`} onClick={onConfirm}>
        {confirmText}
      </button>
      <button type="button" data-testid={`${testIdPrefix}-cancel`} onClick={onCancel} autoFocus>
        Cancel
      </button>
    </div>
  );
}
