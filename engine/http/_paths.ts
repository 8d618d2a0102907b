/** Paths of requests and addresses of listeners, as the router reads them. */

/** Whether a listen hostname is reachable from this host only. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Whether `path` is `prefix` or lies under it. */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === "/" || path === prefix) return true;
  return path.startsWith(prefix.endsWith("/") ? prefix : prefix + "/");
}

/** The decoded path of a request target (`/a/b?c`, or an absolute URL), or undefined. */
export function pathOf(target: string): string | undefined {
  let start = 0;
  if (!target.startsWith("/")) {
    const scheme = target.indexOf("//");
    if (scheme < 0) return undefined;
    start = target.indexOf("/", scheme + 2);
    if (start < 0) return "/";
  }
  let end = target.length;
  const query = target.indexOf("?", start);
  if (query >= 0) end = query;
  const hash = target.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  try {
    return decodeURIComponent(target.slice(start, end));
  } catch {
    return undefined;
  }
}
