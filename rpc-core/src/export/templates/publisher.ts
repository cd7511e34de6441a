/**
 * Publishing from a Node backend: messages, notifications and files to
 * users, task progress, over the server's HTTP API. The payloads are the
 * generated types, the same the browser reads.
 *
 *     import { Publisher } from "<package>/dist/publisher.js";
 *     await new Publisher().sendMessage("amadmin", "Hello from Node!"); // WIRECALL_API_URL / _KEY
 *
 * It speaks the API with the platform's `fetch`: the official `cent.js`
 * (6.1) never checks the HTTP status, so a wrong key would surface as a
 * JSON parse error instead of `Unauthorized`.
 *
 * Arguments are checked before anything is sent (`InvalidArgument`); a
 * wrong key rejects with `Unauthorized`, an unreachable server with
 * `Unreachable`, a refusal by the server with `Refused` (and its code).
 * All are `PublishError`s.
 */

import type { NotificationKind, PersonalMessage, TaskEvent, TaskUpdateStatus } from "./types.js";
// wirecall: the declared families' payload types.

/** The namespace of the users' personal channels (the server's, when the exporter knew it). */
export const PERSONAL_NAMESPACE = "personal";

/** What a `task_update` may say of its task. */
export const TASK_UPDATE_STATUSES: readonly TaskUpdateStatus[] = ["processing", "queued"];

/** The notification types the page knows how to show. */
export const NOTIFICATION_TYPES: readonly NotificationKind[] = ["success", "error", "info", "warning"];

/** Anything that kept a publication from being made. */
export class PublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An argument the server would refuse; nothing was sent. */
export class InvalidArgument extends PublishError {}

/** The server refused the API key (HTTP 401). */
export class Unauthorized extends PublishError {}

/** The server could not be reached (or did not answer in time). */
export class Unreachable extends PublishError {}

/** The server refused the request; `code` is the protocol's or the application's. */
export class Refused extends PublishError {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`${reason} (code ${code})`);
  }
}

/** Where the API is and its key; both default to the environment. */
export interface PublisherOptions {
  /** `http://host:8000/api`; default `WIRECALL_API_URL` (or `WSRPC_API_URL`). */
  apiUrl?: string;
  /** Default `WIRECALL_API_KEY` (or `WSRPC_API_KEY`). */
  apiKey?: string;
  /** The personal channels' namespace (default `PERSONAL_NAMESPACE`). */
  personalNamespace?: string;
  /** Per request, in milliseconds (default 10 000). */
  timeoutMs?: number;
}

/** Optional fields of a notification. */
export interface NotificationOptions {
  /** How it is shown (default `info`). */
  notificationType?: NotificationKind;
  /** A short title (default empty). */
  title?: string;
  /** Extra data (default `{}`). */
  data?: unknown;
}

/** Optional fields of a file-ready notice. */
export interface FileOptions {
  /** Default: the URL's last path segment. */
  fileName?: string;
  /** Default "File ready for download". */
  message?: string;
  /** Its size in bytes. */
  fileSize?: number;
  /** Extra data (default `{}`). */
  data?: unknown;
}

function environment(names: string[]): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return names.map((name) => env?.[name]).find((value) => value !== undefined && value !== "");
}

function setting(value: string | undefined, names: string[], what: string): string {
  const found = value || environment(names);
  if (!found) throw new PublishError(`no ${what}: pass it, or set ${names[0]}`);
  return found;
}

function requireUser(user: string): string {
  if (!user) throw new InvalidArgument("user required");
  return user;
}

/**
 * A string channel parameter, checked: a character that would change the
 * channel name's anatomy (whitespace, a control character or one of
 * `refused`) rejects with `InvalidArgument`.
 */
function channelPart(param: string, value: string, refused: string): void {
  if (!value || [...value].some((c) => refused.includes(c) || /[\s\u0000-\u001f\u007f-\u009f]/u.test(c))) {
    throw new InvalidArgument(
      `channel parameter ${param} must be non-empty, without whitespace or any of ${JSON.stringify(refused)}, got ${JSON.stringify(value)}`,
    );
  }
}

/** An integer channel parameter, checked against its Rust type's range. */
function channelInteger(param: string, value: number, low: number, high: number): void {
  if (!Number.isSafeInteger(value) || value < low || value > high) {
    throw new InvalidArgument(`channel parameter ${param} must be a whole number within ${low}..=${high}, got ${value}`);
  }
}

/** A UUID channel parameter (written in lower case, as the server does). */
function channelUuid(param: string, value: string): void {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    throw new InvalidArgument(`channel parameter ${param} must be a UUID, got ${JSON.stringify(value)}`);
  }
}

function fileNameOf(url: string): string {
  const path = url.split(/[?#]/)[0].replace(/\/+$/, "");
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name && !name.includes(":") ? name : "download";
}

/** Publishes over the HTTP API; every method returns a promise. */
export class Publisher {
  private readonly apiUrl: string;
  private readonly apiKey: string;
  private readonly personalNamespace: string;
  private readonly timeoutMs: number;

  constructor(options: PublisherOptions = {}) {
    this.apiUrl = setting(options.apiUrl, ["WIRECALL_API_URL", "WSRPC_API_URL"], "API URL").replace(/\/+$/, "");
    this.apiKey = setting(options.apiKey, ["WIRECALL_API_KEY", "WSRPC_API_KEY"], "API key");
    this.personalNamespace = options.personalNamespace ?? PERSONAL_NAMESPACE;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Calls API method `method`; its result. */
  async call<T>(method: string, params: unknown): Promise<T> {
    let body: string;
    try {
      body = JSON.stringify(params);
    } catch (error) {
      throw new InvalidArgument(`params of ${method} are not JSON: ${String(error)}`);
    }
    let reply: Response;
    let text: string;
    try {
      reply = await fetch(`${this.apiUrl}/${method}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-API-Key": this.apiKey },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await reply.text();
    } catch (error) {
      throw new Unreachable(`cannot reach the server at ${this.apiUrl}: ${String(error)}`);
    }
    if (reply.status === 401) throw new Unauthorized("the server refused the API key (HTTP 401)");
    let answer: { result?: T; error?: { code: number; message: string } };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      throw new PublishError(`unexpected response from the server (HTTP ${reply.status}): ${text.slice(0, 200)}`);
    }
    if (answer.error) throw new Refused(answer.error.code, answer.error.message);
    if (!reply.ok) throw new PublishError(`unexpected response from the server (HTTP ${reply.status})`);
    return answer.result as T;
  }

  /** Publishes `data` into `channel`; its offset (0 without history). */
  async publish(channel: string, data: unknown): Promise<number> {
    const result = await this.call<{ offset?: number }>("publish", { channel, data });
    return result?.offset ?? 0;
  }

  /** Whether `user` has a live connection now. */
  async isConnected(user: string): Promise<boolean> {
    const result = await this.call<{ connections: number }>("user_connections", { user: requireUser(user) });
    return result.connections > 0;
  }

  private personalChannel(user: string): string {
    return this.personalNamespace ? `${this.personalNamespace}:#${user}` : `#${user}`;
  }

  private async personal(user: string, payload: PersonalMessage): Promise<boolean> {
    const delivered = await this.isConnected(user);
    await this.publish(this.personalChannel(user), payload);
    return delivered;
  }

  /** `user.message` to `user`; whether they had a live connection. */
  async sendMessage(user: string, message: string, data?: unknown): Promise<boolean> {
    return this.personal(requireUser(user), {
      type: "user.message",
      username: user,
      message,
      data: data ?? {},
      timestamp: new Date().toISOString(),
    });
  }

  /** `user.notification` (success, error, info or warning) to `user`. */
  async sendNotification(user: string, message: string, options: NotificationOptions = {}): Promise<boolean> {
    const kind = options.notificationType ?? "info";
    if (!NOTIFICATION_TYPES.includes(kind)) {
      throw new InvalidArgument(`notificationType must be one of ${NOTIFICATION_TYPES.join(", ")}, got ${String(kind)}`);
    }
    return this.personal(requireUser(user), {
      type: "user.notification",
      username: user,
      notification_type: kind,
      title: options.title ?? "",
      message,
      data: options.data ?? {},
      timestamp: new Date().toISOString(),
    });
  }

  /** `user.file` to `user`: a file ready for download (the name from the URL by default). */
  async sendFile(user: string, fileUrl: string, options: FileOptions = {}): Promise<boolean> {
    if (!fileUrl) throw new InvalidArgument("file_url required");
    return this.personal(requireUser(user), {
      type: "user.file",
      username: user,
      file_url: fileUrl,
      file_name: options.fileName ?? fileNameOf(fileUrl),
      // Absent when unknown, as every publisher writes it.
      ...(options.fileSize === undefined ? {} : { file_size: options.fileSize }),
      message: options.message ?? "File ready for download",
      data: options.data ?? {},
      timestamp: new Date().toISOString(),
    });
  }

  /** `user.message` to each of `users` (each once); how many had a live connection. */
  async broadcastMessage(message: string, users: readonly string[], data?: unknown): Promise<number> {
    // All or nothing for bad input: every name is checked before anything is sent.
    if (users.some((user) => !user)) throw new InvalidArgument("user required (an empty user name was given)");
    let reached = 0;
    for (const user of new Set(users)) {
      if (await this.sendMessage(user, message, data)) reached += 1;
    }
    return reached;
  }

  /** A notifier for one task's progress on `channel`. */
  task(taskId: string, channel: string): TaskNotifier {
    return new TaskNotifier(this, taskId, channel);
  }
  // wirecall: one publish<Family> per declared channel family.
}

/** `task_update` per step, then `task_complete` or `task_error`; await each in turn. */
export class TaskNotifier {
  constructor(
    private readonly publisher: Publisher,
    readonly taskId: string,
    readonly channel: string,
  ) {}

  private send(event: TaskEvent): Promise<number> {
    return this.publisher.publish(this.channel, event);
  }

  /** `task_update` with `progress` (0 to 100); `status` is `processing` or `queued`. */
  async update(
    message: string,
    progress: number,
    data?: unknown,
    status: TaskUpdateStatus = "processing",
  ): Promise<number> {
    if (!Number.isInteger(progress) || progress < 0 || progress > 100) {
      throw new InvalidArgument(`progress must be within 0..=100, got ${progress}`);
    }
    if (!TASK_UPDATE_STATUSES.includes(status)) {
      throw new InvalidArgument(`status must be one of ${TASK_UPDATE_STATUSES.join(", ")}, got ${String(status)}`);
    }
    return this.send({
      type: "task_update",
      task_id: this.taskId,
      status,
      message,
      progress,
      data: data ?? {},
    });
  }

  /** `task_complete` with the task's result. */
  complete(message: string, result?: unknown): Promise<number> {
    return this.send({
      type: "task_complete",
      task_id: this.taskId,
      status: "completed",
      message,
      result: result ?? {},
    });
  }

  /** `task_error`. */
  error(error: string, message: string): Promise<number> {
    return this.send({ type: "task_error", task_id: this.taskId, error, message });
  }
}
