/** Per-request settings, under `config.clientCredentials`. */
export interface RequestAuthOptions {
  /** Send this request without a token. @default false */
  skip?: boolean | undefined;
  /** Replay this request once with a fresh token if the API answers 401. @default true */
  replay?: boolean | undefined;
  /** Set by the library on the replay of a request; not for users to set. */
  readonly isReplay?: boolean | undefined;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    /** axios-client-credentials settings for this request. */
    clientCredentials?: RequestAuthOptions | undefined;
  }
}
