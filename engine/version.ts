/** The LiteJoin version, shown by `litejoin --version` and the control socket. */
export const VERSION = "0.1.0";
