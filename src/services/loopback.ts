// The loopback interface's host names, as WHATWG URL parsing spells them (an IPv6 literal keeps
// its brackets in URL#hostname). Plain http is allowed to them for redirect URIs (RFC 8252 §7.3)
// and, in development only, for a client's jwks_uri: traffic to them never leaves the machine.
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}
