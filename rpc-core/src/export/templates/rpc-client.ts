/**
 * The connection to a wirecall server, over the official `centrifuge` SDK.
 *
 * `CentrifugoRPCClient` connects with a token, calls methods by name (an
 * error reply rejects with `RPCError`, carrying its code and message) and
 * hands out typed subscriptions. The SDK reconnects by itself; calls made
 * while it does wait for it. Given the SDK's Protobuf build (the `protobuf`
 * option) it speaks the Protobuf encoding, as the mobile SDKs do; payloads
 * are JSON either way.
 */

import { Centrifuge, Subscription as SdkSubscription } from "centrifuge";
import type { Options } from "centrifuge";

/**
 * An error reply of the server. `code` is the protocol's (100 internal, 103
 * permission denied, 104 method not found, 107 bad request, ...) or the
 * application's (400 to 1999); `temporary` says whether a retry may succeed.
 */
export class RPCError extends Error {
  readonly code: number;
  readonly temporary: boolean;

  constructor(code: number, message: string, temporary = false) {
    super(message);
    this.name = "RPCError";
    this.code = code;
    this.temporary = temporary;
  }
}

/** The state of the connection, as the page's indicator shows it. */
export type ConnectionState = "disconnected" | "connecting" | "connected";

/** Options beyond the URL and token. */
export interface RPCClientOptions {
  /** Namespace of the personal channel (`personal` → `personal:#<userId>`). */
  personalNamespace?: string;
  /** A WebSocket constructor where there is no global one (Node 20: `ws`). */
  websocket?: unknown;
  /** Timeout of calls and of connecting, in milliseconds (default 10000). */
  timeoutMs?: number;
  /** Called with a fresh token when the current one has expired. */
  getToken?: () => Promise<string>;
  /**
   * The SDK's Protobuf build, `Centrifuge` from `centrifuge/build/protobuf`:
   * the connection then speaks the `centrifuge-protobuf` subprotocol. Passed
   * in rather than imported here, so JSON-only bundles do not carry it.
   */
  protobuf?: new (url: string, options: Partial<Options>) => unknown;
}

/** The Protobuf encoding carries payloads as their JSON's bytes. */
function encodePayload(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A payload as a value: bytes (Protobuf) are JSON text; empty bytes are none. */
function decodePayload(data: unknown): unknown {
  if (!(data instanceof Uint8Array)) return data;
  return data.length === 0 ? null : JSON.parse(new TextDecoder().decode(data));
}

/** Publications of one channel, typed as `T`. */
export class TypedSubscription<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(
    readonly channel: string,
    private readonly sdk: SdkSubscription | null,
    private readonly protobuf = false,
  ) {}

  /**
   * Publishes `value` into the channel, where its namespace lets clients
   * publish. A refusal rejects with `RPCError`: 103 when publishing is not
   * allowed, 107 when the server's check of a declared family's payload
   * fails (the message names the field).
   */
  async publish(value: T): Promise<void> {
    if (this.sdk === null) throw new RPCError(108, "a server-side subscription cannot publish");
    try {
      await this.sdk.publish(this.protobuf ? encodePayload(value) : value);
    } catch (error) {
      throw rpcError(error);
    }
  }

  /** Calls `listener` with each publication; returns a function that stops it. */
  on(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Leaves the channel (server-side subscriptions stay). */
  unsubscribe(): void {
    this.sdk?.unsubscribe();
    this.listeners.clear();
  }

  /** @internal */
  deliver(data: unknown): void {
    const value = decodePayload(data) as T;
    for (const listener of this.listeners) listener(value);
  }
}

interface SdkError {
  code?: number;
  message?: string;
  temporary?: boolean;
}

function rpcError(error: unknown): RPCError {
  const e = (error ?? {}) as SdkError;
  return new RPCError(e.code ?? 0, e.message ?? String(error), e.temporary ?? false);
}

/** One connection to a wirecall server. */
export class CentrifugoRPCClient {
  readonly personalChannel: string;
  private readonly sdk: Centrifuge;
  private readonly protobuf: boolean;
  private readonly timeoutMs: number;
  private readonly serverSideSubs = new Map<string, Set<TypedSubscription<unknown>>>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private lastDisconnect: { code: number; reason: string } | null = null;

  /**
   * `url` is the WebSocket endpoint (`ws://host:8000/connection/websocket`),
   * `token` a connection JWT whose `sub` is `userId`.
   */
  constructor(
    readonly url: string,
    token: string,
    readonly userId: string,
    options: RPCClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.personalChannel = `${options.personalNamespace ?? "personal"}:#${userId}`;
    const sdkOptions: Partial<Options> = { token, timeout: this.timeoutMs };
    if (options.websocket !== undefined) sdkOptions.websocket = options.websocket;
    if (options.getToken !== undefined) sdkOptions.getToken = options.getToken;
    this.protobuf = options.protobuf !== undefined;
    // Both builds have one API; their declarations are separate classes.
    this.sdk = options.protobuf
      ? (new options.protobuf(url, sdkOptions) as Centrifuge)
      : new Centrifuge(url, sdkOptions);
    this.sdk.on("publication", (ctx) => {
      for (const sub of this.serverSideSubs.get(ctx.channel) ?? []) sub.deliver(ctx.data);
    });
    this.sdk.on("disconnected", (ctx) => {
      this.lastDisconnect = { code: ctx.code, reason: ctx.reason };
    });
    for (const state of ["disconnected", "connecting", "connected"] as const) {
      this.sdk.on(state, () => {
        for (const listener of this.stateListeners) listener(state);
      });
    }
  }

  /** The connection's state now. */
  get state(): ConnectionState {
    return this.sdk.state as ConnectionState;
  }

  /** Calls `listener` on each state change; returns a function that stops it. */
  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Connects and resolves once the server accepted the connection. */
  async connect(): Promise<void> {
    this.lastDisconnect = null;
    this.sdk.connect();
    try {
      await this.sdk.ready(this.timeoutMs);
    } catch (error) {
      throw this.refusal() ?? rpcError(error);
    }
  }

  /** Why the server closed the connection last, as an error. */
  private refusal(): RPCError | null {
    const refused = this.lastDisconnect;
    return refused ? new RPCError(refused.code, refused.reason) : null;
  }

  /** Closes the connection; no reconnect follows. */
  disconnect(): void {
    this.sdk.disconnect();
  }

  /** Calls `method` with `params`; resolves with the result's JSON. */
  async call(method: string, params: unknown): Promise<unknown> {
    try {
      const data = this.protobuf ? encodePayload(params) : params;
      const reply = await this.sdk.rpc(method, data);
      return decodePayload(reply.data);
    } catch (error) {
      throw rpcError(error);
    }
  }

  /**
   * Subscribes to `channel` (with recovery, so nothing is missed over a
   * reconnect) and resolves once the server confirmed it.
   */
  async subscribe<T>(channel: string): Promise<TypedSubscription<T>> {
    const sdk = this.sdk.newSubscription(channel, { recoverable: true, positioned: true });
    const typed = new TypedSubscription<T>(channel, sdk, this.protobuf);
    // Set by the unsubscribed event when the server refuses the subscription.
    const refusal: { error: RPCError | null } = { error: null };
    sdk.on("publication", (ctx) => typed.deliver(ctx.data));
    sdk.on("unsubscribed", (ctx) => {
      refusal.error = new RPCError(ctx.code, ctx.reason);
    });
    sdk.subscribe();
    try {
      await sdk.ready(this.timeoutMs);
    } catch (error) {
      this.sdk.removeSubscription(sdk);
      throw refusal.error ?? rpcError(error);
    }
    return typed;
  }

  /**
   * Publications of a channel the server subscribed this connection to (the
   * personal channel). Create it before `connect()` to see everything.
   */
  serverSide<T>(channel: string): TypedSubscription<T> {
    const typed = new TypedSubscription<T>(channel, null);
    let subs = this.serverSideSubs.get(channel);
    if (!subs) {
      subs = new Set();
      this.serverSideSubs.set(channel, subs);
    }
    subs.add(typed as TypedSubscription<unknown>);
    return typed;
  }
}
