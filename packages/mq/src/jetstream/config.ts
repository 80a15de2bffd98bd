// Plain options, with nothing from @nats-io: the node's public config type holds them, and a
// consumer's type check must not reach the NATS client's own typings (they need lib esnext).

/** How a node reaches NATS JetStream (`--nats` and its companions). */
export interface JetStreamConfig {
  /** `nats://host:port` URLs of one cluster; the client fails over between them. */
  readonly servers: readonly string[];
  /** A `.creds` file (JWT and nkey seed). */
  readonly creds?: string | undefined;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly token?: string | undefined;
  /** Replicas of each queue's stream, 1-5. */
  readonly replicas: number;
  /** Streams are `<prefix>_<queue>`, subjects `<prefix>.…`. */
  readonly prefix: string;
  /** How long one JetStream call may take before the request answers ERR UNAVAILABLE. */
  readonly timeoutMs: number;
}
