// Which namespaces a listener's `allowedRoutes.namespaces.selector` admits.

/**
 * What a label selector on `kubernetes.io/metadata.name` (the only namespace label a file
 * can know) admits: the namespaces in `only` (every one when undefined) less those in `except`.
 */
export interface NamespaceSelection {
  readonly only: readonly string[] | undefined;
  readonly except: readonly string[];
}

export function namespaceSelected(selection: NamespaceSelection, namespace: string): boolean {
  return (selection.only === undefined || selection.only.includes(namespace)) && !selection.except.includes(namespace);
}

export function describeNamespaceSelection(selection: NamespaceSelection): string {
  const only = selection.only === undefined ? "every namespace" : `namespaces ${selection.only.join(", ") || "(none)"}`;
  return selection.except.length === 0 ? only : `${only} except ${selection.except.join(", ")}`;
}
