/**
 * Static files on the HTTP listener (`http.static`): a dashboard page served from the
 * engine's own origin needs no CORS. Only files inside the directory are served;
 * dot-files and anything reached through `..` or a symlink out of it are not.
 */
import { extname, join, resolve } from "node:path";
import { type Infer, object, string } from "../schema/schema.ts";
import { httpPath } from "../schema/common.ts";
import { type Handler, jsonError } from "./server.ts";

export const staticSpec = object({
  path: httpPath().describe(
    "URL prefix the files are served under (exact routes such as /metrics win).",
    "/",
  ),
  dir: string().describe(
    "Directory of the files (relative to the config file); index.html answers a directory; " +
      "dot-files and paths leading out of it are never served.",
    "./live_table",
  ),
});

export type StaticConfig = Infer<typeof staticSpec>;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
  ".wasm": "application/wasm",
};

/** Serves the files under `dir` at the URL prefix `prefix`. */
export function staticFiles(dir: string, prefix: string): Handler {
  const root = Deno.realPathSync(dir);
  const base = prefix.endsWith("/") ? prefix : prefix + "/";
  return async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    if (path === prefix && !path.endsWith("/")) {
      return new Response(null, { status: 301, headers: { location: base } });
    }
    const rest = path.slice(base.length);
    const parts = rest.split("/").filter((p) => p !== "");
    const missing = () => jsonError(404, `nothing is served at ${path}`);
    if (parts.some((p) => p.startsWith("."))) return missing();
    let file = resolve(root, ...parts);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(file);
      if (info.isDirectory) {
        if (rest !== "" && !path.endsWith("/")) {
          return new Response(null, { status: 301, headers: { location: path + "/" } });
        }
        file = join(file, "index.html");
        info = await Deno.stat(file);
      }
      const real = await Deno.realPath(file);
      if (!info.isFile || !(real === root || real.startsWith(root + "/"))) return missing();
    } catch {
      return missing();
    }
    const headers = {
      "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
      "content-length": String(info.size),
      "cache-control": "no-cache",
      ...(info.mtime ? { "last-modified": info.mtime.toUTCString() } : {}),
    };
    if (request.method === "HEAD") return new Response(null, { headers });
    const opened = await Deno.open(file);
    return new Response(opened.readable, { headers });
  };
}
