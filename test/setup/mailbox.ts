// A real SMTP server for tests (the smtp-server package, in the test's process, on loopback):
// Tessera sends to it over SMTP like to any other, and the test reads what arrived. It can be
// started on a port chosen beforehand (to start Tessera while no server listens there: "SMTP
// down"), stopped and started again, and told to refuse mail for a while.
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { eventually } from './eventually.ts';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** The first link in the text that starts with `prefix` (e.g. the issuer). */
  link(prefix: string): string;
}

export interface Mailbox {
  url: string;
  port: number;
  messages: ReceivedMail[];
  /** While true, every message is refused with a temporary error (451). */
  refuse: boolean;
  /** Waits for a message to `to` (and, if given, with this subject) that was not taken before; takes it. */
  next(to: string, options?: { subject?: RegExp; timeoutMs?: number }): Promise<ReceivedMail>;
  /** Messages to `to` so far, taken or not. */
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
}

export async function startMailbox(port = 0): Promise<Mailbox> {
  const messages: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  const box: Mailbox = {
    url: '',
    port: 0,
    messages,
    refuse: false,
    async next(to, options = {}) {
      const found = await eventually(
        () =>
          messages.find(
            (m) =>
              !taken.has(m) && m.to.includes(to.toLowerCase()) && (!options.subject || options.subject.test(m.subject)),
          ) ?? false,
        { timeoutMs: options.timeoutMs ?? 15_000 },
      );
      taken.add(found);
      return found;
    },
    to: (address) => messages.filter((m) => m.to.includes(address.toLowerCase())),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (box.refuse) {
        const err = Object.assign(new Error('mailbox is refusing mail for now'), { responseCode: 451 });
        callback(err);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          const text = parsed.text ?? '';
          messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            subject: parsed.subject ?? '',
            text,
            html: typeof parsed.html === 'string' ? parsed.html : '',
            link(prefix) {
              const found = text.split(/\s+/).find((w) => w.startsWith(prefix));
              if (!found) throw new Error(`no link starting ${prefix} in: ${text}`);
              return found;
            },
          });
          callback();
        },
        (err: Error) => callback(err),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  box.port = (server.server.address() as AddressInfo).port;
  box.url = `smtp://127.0.0.1:${box.port}`;
  return box;
}
