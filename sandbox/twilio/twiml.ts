/**
 * A small TwiML reader for the voice verbs the emulator executes: `<Say>`, `<Pause>`,
 * `<Hangup>`, `<Redirect>` and `<Connect><Stream>` (with `<Parameter>`s). Other verbs are kept
 * as `unsupported` so the call record can show them; nothing here performs I/O.
 */

export interface StreamSpec {
  url: string;
  name?: string;
  track?: string;
  statusCallback?: string;
  statusCallbackMethod?: string;
  parameters: Record<string, string>;
}

export type Verb =
  | { verb: "Say"; text: string; loop: number }
  | { verb: "Pause"; lengthS: number }
  | { verb: "Hangup" }
  | { verb: "Redirect"; url: string; method: string }
  | { verb: "Connect"; stream?: StreamSpec; action?: string; method: string }
  | { verb: "unsupported"; name: string };

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

/** Parses a well-formed XML document into a tree (no namespaces, no DTDs). */
function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: "#root", attrs: {}, children: [], text: "" };
  const stack: XmlNode[] = [root];
  const re = /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<\/\s*([\w:.-]+)\s*>|<([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml)) !== null) {
    const top = stack[stack.length - 1];
    if (!top) throw new Error("unbalanced XML");
    if (m[1] !== undefined) top.text += m[1];
    else if (m[2] !== undefined) {
      if (top.name !== m[2]) throw new Error(`mismatched </${m[2]}>`);
      stack.pop();
    } else if (m[3] !== undefined) {
      const attrs: Record<string, string> = {};
      const attrRe = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
      let a: RegExpExecArray | null;
      while ((a = attrRe.exec(m[4] ?? "")) !== null) attrs[a[1] ?? ""] = unescapeXml(a[2] ?? a[3] ?? "");
      const node: XmlNode = { name: m[3], attrs, children: [], text: "" };
      top.children.push(node);
      if (m[5] !== "/") stack.push(node);
    } else if (m[6] !== undefined) top.text += unescapeXml(m[6]);
  }
  if (stack.length !== 1) throw new Error("unclosed XML element");
  return root;
}

/** Parses a TwiML `<Response>` into the verbs to execute, in order. Throws on malformed TwiML. */
export function parseTwiml(xml: string): Verb[] {
  const doc = parseXml(xml);
  const response = doc.children.find((c) => c.name === "Response");
  if (!response) throw new Error("TwiML has no <Response>");
  return response.children.map((node): Verb => {
    switch (node.name) {
      case "Say":
        return { verb: "Say", text: node.text.trim(), loop: Math.max(1, Number(node.attrs.loop ?? 1) || 1) };
      case "Pause":
        return { verb: "Pause", lengthS: Math.max(0, Number(node.attrs.length ?? 1) || 0) };
      case "Hangup":
        return { verb: "Hangup" };
      case "Redirect":
        return { verb: "Redirect", url: node.text.trim(), method: (node.attrs.method ?? "POST").toUpperCase() };
      case "Connect": {
        const s = node.children.find((c) => c.name === "Stream");
        const stream: StreamSpec | undefined = s
          ? {
              url: s.attrs.url ?? "",
              ...(s.attrs.name !== undefined ? { name: s.attrs.name } : {}),
              ...(s.attrs.track !== undefined ? { track: s.attrs.track } : {}),
              ...(s.attrs.statusCallback !== undefined ? { statusCallback: s.attrs.statusCallback } : {}),
              ...(s.attrs.statusCallbackMethod !== undefined ? { statusCallbackMethod: s.attrs.statusCallbackMethod } : {}),
              parameters: Object.fromEntries(
                s.children.filter((p) => p.name === "Parameter").map((p) => [p.attrs.name ?? "", p.attrs.value ?? ""]),
              ),
            }
          : undefined;
        return {
          verb: "Connect",
          ...(stream ? { stream } : {}),
          ...(node.attrs.action !== undefined ? { action: node.attrs.action } : {}),
          method: (node.attrs.method ?? "POST").toUpperCase(),
        };
      }
      default:
        return { verb: "unsupported", name: node.name };
    }
  });
}
