// Parses a multi-document YAML file keeping node positions, so every later finding can
// point at the exact line and column of the value it is about.
import { LineCounter, Scalar, isMap, isPair, isScalar, isSeq, parseAllDocuments, visit } from "yaml";
import type { Alias, Document, Node, Pair, YAMLMap } from "yaml";
import type { Diagnostic } from "./diagnostics.ts";

export interface SourceDocument {
  /** 0-based index of the document in the file. */
  readonly index: number;
  readonly doc: Document.Parsed;
  /** Plain JS value of the document (after placeholder substitution). */
  readonly value: unknown;
}

export interface ParsedFile {
  readonly file: string;
  readonly documents: readonly SourceDocument[];
  readonly lineCounter: LineCounter;
  /** 1-based line/col for a character offset. */
  position(offset: number): { line: number; col: number };
}

/** The Hugo shortcode kgateway's docs use for the install namespace, and what it renders to. */
const HUGO_REUSE = /^<\s*reuse\s+"([^"]+)"\s*>$/;
const KNOWN_HUGO_SNIPPETS: Readonly<Record<string, string>> = {
  "docs/snippets/namespace.md": "kgateway-system",
};

export function parseYamlFile(text: string, file: string, diagnostics: Diagnostic[]): ParsedFile {
  const lineCounter = new LineCounter();
  // `merge`: YAML 1.1 merge keys (`<<: *base`), which kubectl's decoder resolves too.
  // Duplicate keys are found below, not by the parser: its check compares each key with
  // every earlier one of its mapping (2.7 s for a 2 MB ConfigMap, on the serving thread).
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: false, merge: true });
  const position = (offset: number): { line: number; col: number } => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  // An empty stream parses to an EmptyStream: no documents, nothing to report.
  const list = Array.isArray(docs) ? docs : [];
  const documents: SourceDocument[] = [];
  const report = (severity: "error" | "warning", offset: number, path: string, message: string, hint: string | undefined): void => {
    const { line, col } = position(offset);
    diagnostics.push({ severity, file, line, col, path: path || "-", message, hint });
  };
  list.forEach((doc, index) => {
    for (const err of doc.errors) report("error", err.pos[0], "", `YAML syntax error: ${firstLine(err.message)}`, yamlHint(err.code));
    if (doc.errors.length > 0) return;
    const duplicates = duplicateKeys(doc.contents);
    for (const d of duplicates) {
      const first = position(d.first.range?.[0] ?? 0);
      report("error", d.key.range?.[0] ?? 0, d.path, `duplicate key ${JSON.stringify(d.name)} (first at ${first.line}:${first.col})`, yamlHint("DUPLICATE_KEY"));
    }
    if (duplicates.length > 0) return;
    // An empty document (a trailing `---`, one holding only comments, `helm template`'s
    // separators) parses to a null scalar: kubectl skips it, and so do we.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    substituteHugoPlaceholders(doc.contents, [], (node, path, snippet, replacement) => {
      const at = node.range?.[0] ?? 0;
      if (replacement === undefined) report("error", at, path, `unresolved Hugo shortcode {{< reuse "${snippet}" >}}`, "replace the shortcode with the value it stands for");
      else report("warning", at, path, `Hugo shortcode {{< reuse "${snippet}" >}} read as "${replacement}"`, `write "${replacement}" to silence this warning`);
    });
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // An alias with no anchor before it in its document, or an alias bomb: the parser
      // resolves aliases only here.
      const alias = firstUnresolvedAlias(doc);
      if (alias !== undefined) {
        report("error", alias.range?.[0] ?? doc.range[0], "", `YAML alias *${alias.source} has no anchor &${alias.source} before it in this document`, "anchors do not carry across `---` documents; define the anchor first in the same document");
      } else report("error", doc.range[0], "", `YAML: ${firstLine((err as Error).message)}`, "expand the aliases; a file may use at most 100 alias references");
      return;
    }
    documents.push({ index, doc, value });
  });
  return { file, documents, lineCounter, position };
}

interface DuplicateKey {
  readonly key: Node;
  readonly first: Node;
  readonly name: string;
  /** The field path of the repeated key. */
  readonly path: string;
}

/** Keys repeated within a mapping (scalars equal in value, as the parser compares them), with one set per mapping. */
function duplicateKeys(root: unknown): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      const seen = new Map<unknown, Node>();
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key)) {
          const first = seen.get(key.value);
          if (first === undefined) seen.set(key.value, key);
          else found.push({ key, first, name: String(key.value), path: formatPath([...path, String(key.value)]) });
        }
        walk(pair.value, [...path, isScalar(key) ? String(key.value) : "?"]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(root, []);
  return found;
}

function firstLine(s: string): string {
  const i = s.indexOf("\n");
  return (i < 0 ? s : s.slice(0, i)).replace(/ at line \d+, column \d+:?$/, "");
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case "DUPLICATE_KEY":
      return "remove one of the duplicate keys";
    case "TAB_AS_INDENT":
      return "indent with spaces, not tabs";
    case "BAD_INDENT":
    case "MISSING_CHAR":
      return "check the indentation and closing brackets around this line";
    default:
      return undefined;
  }
}

type PlaceholderCallback = (node: Node, path: string, snippet: string, replacement: string | undefined) => void;

/**
 * Docs rendered from Hugo sources sometimes leak `{{< reuse "..." >}}` into YAML, where it
 * parses as a flow mapping nested in a flow mapping. Replace the one we know with its value.
 */
function substituteHugoPlaceholders(node: Node, path: (string | number)[], onFound: PlaceholderCallback): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      const value = pair.value as Node | null;
      if (value === null) continue;
      const snippet = hugoSnippet(value);
      if (snippet !== undefined) {
        const replacement = KNOWN_HUGO_SNIPPETS[snippet];
        onFound(value, formatPath([...path, key]), snippet, replacement);
        // An unknown shortcode stays as its text: one clear error, no cascade of type errors.
        const scalar = new Scalar(replacement ?? `{{< reuse "${snippet}" >}}`);
        scalar.range = value.range;
        (pair as Pair<unknown, unknown>).value = scalar;
        continue;
      }
      substituteHugoPlaceholders(value, [...path, key], onFound);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      if (item !== null && typeof item === "object" && !isPair(item)) substituteHugoPlaceholders(item as Node, [...path, i], onFound);
    });
  }
}

function hugoSnippet(node: Node): string | undefined {
  if (!isMap(node) || !node.flow || node.items.length !== 1) return undefined;
  const outer = node.items[0] as Pair<unknown, unknown>;
  if (outer.value !== null && !(isScalar(outer.value) && outer.value.value === null)) return undefined;
  const inner = outer.key;
  if (!isMap(inner) || !(inner as YAMLMap).flow || (inner as YAMLMap).items.length !== 1) return undefined;
  const innerPair = (inner as YAMLMap).items[0] as Pair<unknown, unknown>;
  if (!isScalar(innerPair.key)) return undefined;
  if (innerPair.value !== null && !(isScalar(innerPair.value) && innerPair.value.value === null)) return undefined;
  const m = HUGO_REUSE.exec(String(innerPair.key.value));
  return m?.[1];
}

const PLAIN_KEY = /^[A-Za-z0-9_/-][A-Za-z0-9_./-]*$/;

/** `spec.rules[0].matches` from path segments. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    // `data..htpasswd` or `data.a b` would read as a typo: such a key is quoted, `data[".htpasswd"]`.
    else if (!PLAIN_KEY.test(s)) out += `[${JSON.stringify(s)}]`;
    else out += out === "" ? s : `.${s}`;
  }
  return out;
}

/**
 * The node at a path inside a document, and the node that holds the key (for "unknown
 * field" reports pointing at the key itself). Falls back to the deepest node found.
 */
export function nodeAt(
  doc: Document.Parsed,
  segments: readonly (string | number)[],
): { node: Node | undefined; keyNode: Node | undefined; found: boolean } {
  let current: unknown = doc.contents;
  let keyNode: Node | undefined;
  for (const seg of segments) {
    if (isMap(current)) {
      const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) return { node: current as Node, keyNode: undefined, found: false };
      keyNode = pair.key as Node;
      if (pair.value === null) return { node: keyNode, keyNode, found: true };
      current = pair.value;
    } else if (isSeq(current) && typeof seg === "number") {
      const item = current.items[seg];
      if (item === undefined || item === null) return { node: current as Node, keyNode: undefined, found: false };
      keyNode = undefined;
      current = item;
    } else {
      return { node: current as Node, keyNode: undefined, found: false };
    }
  }
  return { node: current as Node, keyNode, found: true };
}

function firstUnresolvedAlias(doc: Document.Parsed): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) === undefined) {
        found = node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}
