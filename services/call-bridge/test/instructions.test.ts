import { describe, expect, it } from 'vitest';

import { renderInstructions } from '../src/domain/instructions.js';

describe('renderInstructions', () => {
  it("fills {{name}} placeholders with the call's values", () => {
    expect(
      renderInstructions('Call {{ name }} about order {{order_id}}. {{name}} prefers mornings.', {
        name: 'Ada',
        order_id: 'A-17',
      }),
    ).toBe('Call Ada about order A-17. Ada prefers mornings.');
  });

  it('leaves no raw placeholder for the model to read aloud, and no template syntax in values', () => {
    expect(renderInstructions('Hello {{name}}, {{missing}}!', { name: '{{missing}}' })).toBe(
      'Hello {{missing}}, !',
    );
    expect(renderInstructions('No placeholders here.', { name: 'x' })).toBe(
      'No placeholders here.',
    );
    // Not a placeholder: single braces and names that start with a digit.
    expect(renderInstructions('{name} {{1x}}', { name: 'x', '1x': 'y' })).toBe('{name} {{1x}}');
  });

  it('ignores inherited keys', () => {
    expect(renderInstructions('{{constructor}}', {})).toBe('');
  });
});
