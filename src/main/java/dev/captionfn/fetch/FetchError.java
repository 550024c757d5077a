package dev.captionfn.fetch;

/** What kind of failure ended a fetch, in the fetcher's own terms; the caller maps each to its error codes. */
public enum FetchError {
    /** The URL asked for is malformed: missing, unparsable, no host, a host no browser reads, or a bad port. */
    INVALID_URL,
    /** The URL may not be fetched: not http(s), carries credentials, or names a private or special-use address. */
    NOT_ALLOWED,
    /** The image server answered 4xx, redirected badly or too often, refused the connection, or its host is unknown. */
    FAILED,
    /** The image server failed in a way a retry may not repeat: 5xx, 429 or 408. */
    UPSTREAM_ERROR,
    /** Connecting, or the whole fetch, took longer than its limit. */
    TIMEOUT,
    /** The body is larger than the byte limit, declared or as it streamed in. */
    TOO_LARGE
}
