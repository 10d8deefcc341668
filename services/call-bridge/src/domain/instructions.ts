/**
 * Per-call values in an agent's instructions: `{{name}}` placeholders filled from the call's
 * variables (a call request's, a campaign contact's). Pure.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/**
 * Fills `{{name}}` placeholders of `template` from `variables`. A placeholder without a value
 * becomes empty: the model must never read a raw `{{name}}` aloud.
 */
export function renderInstructions(
  template: string,
  variables: Readonly<Record<string, string>>,
): string {
  return template.replace(PLACEHOLDER, (_m, name: string) =>
    Object.hasOwn(variables, name) ? (variables[name] as string) : '',
  );
}
