// Which config file a command uses: --config, else TOLLGATE_CONFIG, else
// config/gateway.yaml in the working directory, else the default file shipped in the package.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ENV } from "../server/settings.ts";

export const DEFAULT_CONFIG = "config/gateway.yaml";

export function resolveConfigPath(flag: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const chosen = flag ?? (env[ENV.config]?.trim() || undefined);
  if (chosen !== undefined) return resolve(chosen);
  const local = resolve(DEFAULT_CONFIG);
  if (existsSync(local)) return local;
  return fileURLToPath(new URL(`../../${DEFAULT_CONFIG}`, import.meta.url));
}
