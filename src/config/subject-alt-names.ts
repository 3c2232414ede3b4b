// A certificate's DNS and URI subjectAltNames, read from the text Node prints for them
// (`DNS:a.example, URI:spiffe://...`): what BackendTLSPolicy matches an upstream against,
// and what the access log shows of a client's certificate.

export interface SubjectAltNames {
  /** As issued (DNS names compare without case). */
  readonly dns: readonly string[];
  readonly uris: readonly string[];
}

export function subjectAltNames(text: string | undefined): SubjectAltNames {
  const dns: string[] = [];
  const uris: string[] = [];
  for (const entry of (text ?? "").split(", ")) {
    if (entry.startsWith("DNS:")) dns.push(entry.slice(4));
    else if (entry.startsWith("URI:")) uris.push(unquote(entry.slice(4)));
  }
  return { dns, uris };
}

/** Node quotes a name holding a comma or quote as a JSON string. */
function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return String(JSON.parse(value));
  } catch {
    return value;
  }
}
