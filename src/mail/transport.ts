// Where mail goes: an SMTP server (nodemailer, SMTP_URL), or in development without one the log,
// links and all, so that a developer can follow them. Production without SMTP_URL has no
// transport (config.ts), and offers nothing that mails.
import nodemailer from 'nodemailer';
import type { MailConfig } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface MailTransport {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

// Every send ends within about 40 s, well inside the outbox lease (outbox/worker.ts LEASE_MS): a
// connection within 10 s, the server's greeting within 10 s, no silence longer than 20 s.
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;

export function mailTransport(config: MailConfig, logger: Logger): MailTransport | undefined {
  if (config.transport === 'none') return undefined;
  if (config.transport === 'log') {
    return {
      async send(message) {
        // Development only (config.ts refuses this transport in production): the text carries
        // the message's one-time link, which a developer follows from the log.
        logger.info(
          { mail_to: message.to, mail_subject: message.subject, mail_text: message.text },
          'mail (SMTP_URL is not set; development writes mail to the log)',
        );
      },
      close() {},
    };
  }
  const smtp = nodemailer.createTransport({
    url: config.smtpUrl!,
    pool: true,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    async send(message) {
      await smtp.sendMail({ from: config.from, ...message });
    },
    close() {
      smtp.close();
    },
  };
}
