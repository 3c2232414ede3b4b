// Remote JWKS fetches by JWT provider (`namespace/extension/provider`) and outcome, as Envoy's
// jwt_authn counts jwks_fetch_success and jwks_fetch_failed: a key server that fails shows
// here before every token it should serve is refused.
import { NamedCounts } from "./named-counts.ts";

export type JwksFetchOutcome = "success" | "failure";

export class JwksFetchCounts extends NamedCounts<JwksFetchOutcome> {}
