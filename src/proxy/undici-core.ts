// The undici parts the proxy uses: Pool, Client, buildConnector and, loaded when first needed,
// request. undici's index also loads fetch, WebSocket, the cache, mocks and EventSource (over
// 100 modules, about 9 MB of RSS) that a proxy never calls, so the parts are loaded from their
// own files; should a future undici move them, the index still provides them.
import { createRequire } from "node:module";
import type * as Undici from "undici";

interface UndiciCore {
  readonly Pool: typeof Undici.Pool;
  readonly Client: typeof Undici.Client;
  readonly buildConnector: typeof Undici.buildConnector;
}

function loadCore(): UndiciCore {
  const require = createRequire(import.meta.url);
  try {
    return {
      Pool: require("undici/lib/dispatcher/pool.js") as typeof Undici.Pool,
      Client: require("undici/lib/dispatcher/client.js") as typeof Undici.Client,
      buildConnector: require("undici/lib/core/connect.js") as typeof Undici.buildConnector,
    };
  } catch {
    const undici = require("undici") as typeof Undici;
    return { Pool: undici.Pool, Client: undici.Client, buildConnector: undici.buildConnector };
  }
}

export const { Pool, Client, buildConnector } = loadCore();

type RequestApi = (this: Undici.Dispatcher, options: Undici.Dispatcher.RequestOptions) => Promise<Undici.Dispatcher.ResponseData>;
let requestApi: RequestApi | undefined;

/**
 * undici's `request` on one of the gateway's pools, for the gateway's own rare calls (a remote
 * JWKS): loaded on first use, so a gateway that never makes one never loads it.
 */
export function dispatcherRequest(pool: Undici.Dispatcher, options: Undici.Dispatcher.RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  if (requestApi === undefined) {
    const require = createRequire(import.meta.url);
    try {
      requestApi = require("undici/lib/api/api-request.js") as RequestApi;
    } catch {
      const undici = require("undici") as typeof Undici;
      requestApi = undici.Dispatcher.prototype.request as RequestApi;
    }
  }
  return requestApi.call(pool, options);
}
