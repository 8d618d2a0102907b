/**
 * Login sessions for browsers: `POST /auth/login` takes a token (Authorization header,
 * a form field or JSON `token`) and sets an HttpOnly, SameSite=Strict cookie; the
 * browser then sends it with EventSource and fetch on the engine's own site.
 *
 * The cookie is `<token name>.<expiry ms>.<HMAC-SHA256 of both, keyed by the token>`:
 * the token itself never sits in the browser, a session outlives restarts of the
 * engine, and removing (rotating) a token ends every session made from it.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Authenticator, KnownToken } from "./auth.ts";
import { jsonError } from "./server.ts";

export const SESSION_COOKIE = "litejoin_session";
export const LOGIN_PATH = "/auth/login";
export const LOGOUT_PATH = "/auth/logout";
const MAX_LOGIN_BODY = 4096;

function mac(token: string, name: string, expires: number): Buffer {
  return createHmac("sha256", token).update(`litejoin-session|${name}|${expires}`).digest();
}

/** The cookie value of a session of `token` that ends at `expires` (ms since the epoch). */
export function mintSession(token: KnownToken, expires: number): string {
  return `${token.name}.${expires}.${mac(token.token, token.name, expires).toString("base64url")}`;
}

/** The token a valid, unexpired session cookie was made from. */
export function readSession(
  value: string,
  tokens: readonly KnownToken[],
  now: number,
): KnownToken | undefined {
  const [name, expiresText, signature, extra] = value.split(".");
  if (extra !== undefined || !signature || !/^\d{1,16}$/.test(expiresText ?? "")) return undefined;
  const expires = Number(expiresText);
  const token = tokens.find((t) => t.name === name);
  if (!token || expires <= now) return undefined;
  const given = Buffer.from(signature, "base64url");
  const wanted = mac(token.token, token.name, expires);
  return given.length === wanted.length && timingSafeEqual(given, wanted) ? token : undefined;
}

/**
 * `POST /auth/login`: a session cookie for a valid token, 401 otherwise. A form post
 * (from `loginPage`) is answered with a redirect to its `next` path.
 */
export async function login(
  request: Request,
  auth: Authenticator,
  opts: { secure: boolean; peer?: string },
): Promise<Response> {
  const given = await tokenOf(request);
  if (given instanceof Response) return given;
  const { token, form } = given;
  const next = safeNext(given.next ?? new URL(request.url).searchParams.get("next"));
  const refuse = (reason: "missing" | "invalid", why: string) => {
    auth.refused(
      LOGIN_PATH,
      reason,
      `refused login${opts.peer ? ` from ${opts.peer}` : ""}: ${why}`,
    );
    if (form) return loginPage(next, "That token is not valid.", 401);
    const response = jsonError(
      401,
      reason === "missing"
        ? 'send the token as Authorization: Bearer <token>, a form field token, or JSON {"token": …}'
        : "invalid token: it is not one of http.auth.tokens",
    );
    response.headers.set(
      "www-authenticate",
      `Bearer realm="litejoin"${reason === "invalid" ? ', error="invalid_token"' : ""}`,
    );
    return response;
  };
  if (token === undefined) return refuse("missing", "no token");
  const known = auth.find(token);
  if (!known) return refuse("invalid", "invalid token");
  const maxAge = auth.config.session_max_age;
  const expires = auth.opts.clock.now() + maxAge;
  const response = form
    ? new Response(null, { status: 303, headers: { location: next } })
    : Response.json({
      name: known.name,
      scopes: [...known.scopes],
      expires_at: new Date(expires).toISOString(),
    });
  response.headers.set(
    "set-cookie",
    cookie(mintSession(known, expires), Math.floor(maxAge / 1000), opts.secure),
  );
  response.headers.set("cache-control", "no-store");
  return response;
}

/** `GET /auth/login?next=/path`: a form asking for a token, for people with a browser. */
export function loginPage(next: string | null, message = "", status = 200): Response {
  const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>LiteJoin: log in</title></head>
<body>
<form method="post" action="${LOGIN_PATH}">
  <p>${esc(message) || "Paste a token of http.auth.tokens."}</p>
  <input type="password" name="token" autocomplete="current-password" required autofocus>
  <input type="hidden" name="next" value="${esc(safeNext(next))}">
  <button type="submit">Log in</button>
</form>
</body></html>
`;
  return new Response(html, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": "default-src 'none'; form-action 'self'",
      "x-frame-options": "DENY",
    },
  });
}

/** A path on this site to go to after logging in (never another site). */
function safeNext(next: string | null | undefined): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.includes("\\")
    ? next
    : "/";
}

/** `POST /auth/logout`: clears the cookie. */
export function logout(opts: { secure: boolean }): Response {
  const response = new Response(null, { status: 204 });
  response.headers.set("set-cookie", cookie("", 0, opts.secure));
  return response;
}

function cookie(value: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${
    secure ? "; Secure" : ""
  }`;
}

/** The token of a login request (undefined when it has none), or a 4xx to answer. */
async function tokenOf(
  request: Request,
): Promise<{ token?: string; next?: string; form: boolean } | Response> {
  const header = request.headers.get("authorization");
  if (header !== null) {
    return { token: /^bearer[ \t]+(\S+)\s*$/i.exec(header)?.[1] ?? "", form: false };
  }
  if (!request.body) return { form: false };
  const tooLarge = () => jsonError(413, `a login body is at most ${MAX_LOGIN_BODY} bytes`);
  if (Number(request.headers.get("content-length") ?? 0) > MAX_LOGIN_BODY) return tooLarge();
  let text: string;
  try {
    text = await request.text();
  } catch {
    return tooLarge();
  }
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams(text);
    return {
      token: form.get("token") ?? undefined,
      next: form.get("next") ?? undefined,
      form: true,
    };
  }
  try {
    const value = JSON.parse(text);
    return { token: typeof value?.token === "string" ? value.token : undefined, form: false };
  } catch {
    return jsonError(400, 'send JSON {"token": "…"} or a form field token');
  }
}

export { MAX_LOGIN_BODY };
