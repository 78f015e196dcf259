/**
 * A session's reply writer: replies leave in the order they were made, one after another, each
 * recorded in the transcript; the time the current write started is kept, so that a client that
 * reads nothing cannot hold a session for ever (the sweeper cuts it off).
 *
 * @module
 */

import { encodeReply, formatMiddleLine, singleLine } from "../protocol/reply.ts";
import type { Transcript } from "../transcript.ts";
import type { ReplyChannel } from "./services.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** A streamed reply is written in pieces of about this many characters. */
const STREAM_CHUNK_CHARS = 64 * 1024;
/** Lines of a streamed reply kept in the transcript, at most. */
const TRANSCRIPT_LINES = 1000;
/** Where every chain of replies starts: one settled promise, shared by all writers. */
const SETTLED: Promise<unknown> = Promise.resolve();

/** Ordered replies over a {@linkcode ReplyChannel}. */
export class ReplyWriter {
  #channel: ReplyChannel;
  readonly #session: number;
  readonly #transcript: Transcript | null;
  /** Settles when the replies made so far have been written (or failed). */
  #chain: Promise<unknown> = SETTLED;
  /** Replies made and not yet written: at 0 the chain starts afresh (an idle session keeps none). */
  #queued = 0;
  #writingSince = 0;
  /** Code of the last reply made. */
  lastCode = 0;

  constructor(channel: ReplyChannel, session: number, transcript: Transcript | null) {
    this.#channel = channel;
    this.#session = session;
    this.#transcript = transcript;
  }

  /** When the reply being written was started (0: none is). */
  get writingSince(): number {
    return this.#writingSince;
  }

  /** Replaces the channel (the control connection became TLS). */
  switchChannel(channel: ReplyChannel): void {
    this.#channel = channel;
  }

  /** Writes a reply after the ones before it; resolves when it has been written. */
  reply(code: number, text: string | readonly string[]): Promise<void> {
    const bytes = encodeReply(code, text);
    this.lastCode = code;
    this.#transcript?.record(this.#session, "reply", decoder.decode(bytes.subarray(0, -2)));
    this.#queued++;
    const written = this.#chain.then(() => this.#write(bytes));
    this.#chain = written.catch(() => {});
    return written;
  }

  /**
   * Writes a multi-line reply whose middle lines come from `lines`, in pieces as they are made;
   * nothing else is written in between.
   */
  replyStream(
    code: number,
    first: string,
    lines: AsyncIterable<string>,
    last: string,
  ): Promise<void> {
    this.lastCode = code;
    const recorded: string[] = [`${code}-${singleLine(first)}`];
    this.#queued++;
    const written = this.#chain.then(async () => {
      try {
        let text = `${code}-${singleLine(first)}\r\n`;
        for await (const line of lines) {
          const formatted = formatMiddleLine(line);
          text += formatted;
          if (recorded.length < TRANSCRIPT_LINES) recorded.push(formatted.slice(0, -2));
          if (text.length >= STREAM_CHUNK_CHARS) {
            await this.#writeBytes(encoder.encode(text));
            text = "";
          }
        }
        text += `${code} ${singleLine(last)}\r\n`;
        recorded.push(`${code} ${singleLine(last)}`);
        this.#transcript?.record(this.#session, "reply", recorded.join("\r\n"));
        await this.#writeBytes(encoder.encode(text));
      } finally {
        this.#dequeue();
      }
    });
    this.#chain = written.catch(() => {});
    return written;
  }

  /** Writes one queued reply. */
  async #write(bytes: Uint8Array): Promise<void> {
    this.#writingSince = Date.now();
    try {
      await this.#channel.write(bytes);
    } finally {
      this.#writingSince = 0;
      this.#dequeue();
    }
  }

  #dequeue(): void {
    // Nothing is waiting behind this write: the next reply needs no chain to wait for.
    if (--this.#queued === 0) this.#chain = SETTLED;
  }

  /** Writes a piece of a streamed reply. */
  async #writeBytes(bytes: Uint8Array): Promise<void> {
    this.#writingSince = Date.now();
    try {
      await this.#channel.write(bytes);
    } finally {
      this.#writingSince = 0;
    }
  }
}
