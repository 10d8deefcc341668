/**
 * TwiML documents into a small verb tree (twilio.md §3). Verb order matters, so the parser runs
 * with `preserveOrder`.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface TwimlNode {
  /** Element name as written (`Say`, `Connect`, `Stream`, ...). */
  name: string;
  attrs: Record<string, string>;
  /** Concatenated, trimmed text content (e.g. the words of `<Say>`, the number of `<Dial>`). */
  text: string;
  children: TwimlNode[];
}

/** A TwiML document that Twilio could not run: error 12100 "Document parse failure". */
export class TwimlParseError extends Error {
  readonly code = 12100;
  constructor(message: string) {
    super(message);
    this.name = 'TwimlParseError';
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
});

type Raw = Record<string, unknown>;

function toNode(raw: Raw): TwimlNode | string | undefined {
  const text = raw['#text'];
  if (text !== undefined) return String(text);
  const name = Object.keys(raw).find((k) => k !== ':@');
  if (name === undefined || name.startsWith('#') || name.startsWith('?')) return undefined;
  const attrsRaw = (raw[':@'] ?? {}) as Record<string, unknown>;
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrsRaw)) attrs[k] = String(v);
  const node: TwimlNode = { name, attrs, text: '', children: [] };
  const texts: string[] = [];
  for (const child of (raw[name] ?? []) as Raw[]) {
    const c = toNode(child);
    if (typeof c === 'string') texts.push(c);
    else if (c !== undefined) node.children.push(c);
  }
  node.text = texts.join(' ').trim();
  return node;
}

/** Parses a TwiML document; its root must be `<Response>`. */
export function parseTwiml(xml: string): TwimlNode {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new TwimlParseError(`invalid XML: ${valid.err.msg}`);
  const roots = (parser.parse(xml) as Raw[])
    .map(toNode)
    .filter((n): n is TwimlNode => typeof n === 'object');
  const root = roots[0];
  if (roots.length !== 1 || root === undefined || root.name !== 'Response') {
    throw new TwimlParseError('the root element must be <Response>');
  }
  return root;
}
