/**
 * A button for an action that cannot be undone (hang up, transfer, cancel): the first click
 * asks, the second does it. Inline rather than window.confirm so it is styled, testable and
 * never blocks the live updates.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export function ConfirmButton(props: {
  label: string;
  question: string;
  testId: string;
  onConfirm: () => Promise<void> | void;
  disabled?: boolean;
  danger?: boolean;
  children?: ComponentChildren;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        class={props.danger ? 'danger' : ''}
        data-testid={props.testId}
        disabled={props.disabled || busy}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm" data-testid={`${props.testId}-confirm-box`}>
      <span>{props.question}</span>
      {props.children}
      <button
        type="button"
        class={props.danger ? 'danger solid' : 'primary'}
        data-testid={`${props.testId}-confirm`}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await props.onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        Yes, {props.label.toLowerCase()}
      </button>
      <button type="button" data-testid={`${props.testId}-cancel`} onClick={() => setAsking(false)}>
        No
      </button>
    </span>
  );
}
