/** An error or status line; the message is always text. */
export function ErrorNotice({ error, testId }: { error: unknown; testId?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p class="error" role="alert" data-testid={testId ?? 'error'}>
      {message}
    </p>
  );
}
