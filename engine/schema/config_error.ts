/**
 * The error of a config file that cannot be used. It lives beside the schema language,
 * below every component, so that a command that only reads part of the config (the
 * control socket's path, `engine/config/socket.ts`) reports it without loading the rest.
 */

/** A configuration that cannot be used; `lines` holds one `file:line:col: path: message` each. */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join("\n"));
    this.name = "ConfigError";
  }
}
