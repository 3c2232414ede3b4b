// The three undici parts the proxy uses: Pool, Client and buildConnector. undici's index
// also loads fetch, WebSocket, the cache, mocks and EventSource (over 100 modules, about
// 9 MB of RSS) that a proxy never calls, so the parts are loaded from their own files;
// should a future undici move them, the index still provides them.
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
