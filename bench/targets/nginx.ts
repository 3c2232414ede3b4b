// nginx, when installed: the fast upstream (`return 200`) and scenario 8's reverse proxy.
// One worker process each, so nginx gets the same single core a Node proxy gets. It runs
// in the foreground (daemon off) with a private prefix in a temp directory.
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { launchLeashed, type Launched } from "./launch.ts";
import { freePort } from "../lib/ports.ts";
import { waitFor2xx } from "../lib/wait.ts";

/** BENCH_NGINX=off runs as on a machine without nginx (node upstream, no scenario 8). */
export function findNginx(): string | undefined {
  if (process.env.BENCH_NGINX === "off") return undefined;
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, "nginx");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

function config(prefix: string, port: number, body: string): string {
  return `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
${body}
}
`;
}

async function startNginx(nginx: string, name: string, dir: string, body: (port: number) => string): Promise<Launched> {
  const prefix = join(dir, name);
  mkdirSync(prefix, { recursive: true });
  const port = await freePort();
  const file = join(prefix, "nginx.conf");
  writeFileSync(file, config(prefix, port, body(port)));
  const logFile = join(prefix, "output.log");
  const launched = await launchLeashed(name, nginx, ["-p", prefix, "-c", file, "-g", "daemon off;"], { logFile, port });
  try {
    await waitFor2xx(`http://127.0.0.1:${port}/`, 15_000, () => launched.tracked.hasExited());
  } catch (error) {
    await launched.tracked.stop();
    throw new Error(`${name}: ${(error as Error).message}\n${readTail(logFile)}${readTail(join(prefix, "error.log"))}`);
  }
  return launched;
}

export function startNginxUpstream(nginx: string, dir: string): Promise<Launched> {
  return startNginx(
    nginx,
    "nginx-upstream",
    dir,
    (port) => `  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 "ok\\n"; }
  }`,
  );
}

export function startNginxProxy(nginx: string, dir: string, upstreamPort: number): Promise<Launched> {
  return startNginx(
    nginx,
    "nginx-proxy",
    dir,
    (port) => `  upstream bench_upstream {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
  );
}

export function readTail(file: string, bytes = 4000): string {
  try {
    return readFileSync(file, "utf8").slice(-bytes);
  } catch {
    return "";
  }
}
