/** Per-request settings, under `config.clientCredentials`. */
export interface RequestAuthOptions {
  /** Send this request without a token. @default false */
  skip?: boolean | undefined;
  /** Replay this request once with a fresh token if the API answers 401. @default true */
  replay?: boolean | undefined;
  /**
   * Send this request with a token asked for with exactly these scopes (least privilege: a read with a
   * read-only token). One token per scope set, cached, refreshed and shared on its own; order and repeats do
   * not matter. A space-separated string or a list. @default the provider's `scope`
   */
  scope?: string | readonly string[] | undefined;
  /** Send this request with a token for these RFC 8707 resource indicators. @default the provider's `resource` */
  resource?: string | readonly string[] | undefined;
  /**
   * Set by the library on the replay of a request, for interceptors and logs to see; not for users to
   * set. The library itself never trusts it: a copy of a replay's config is a new request.
   */
  readonly isReplay?: boolean | undefined;
  /** @internal The library's proof that a request is its own replay; good for one send. */
  readonly replayTicket?: object | undefined;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    /** axios-client-credentials settings for this request. */
    clientCredentials?: RequestAuthOptions | undefined;
  }
}
