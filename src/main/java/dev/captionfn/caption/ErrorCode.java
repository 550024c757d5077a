package dev.captionfn.caption;

/**
 * The stable error codes of the function, with the HTTP status a plain request gets and whether a
 * broker or queue should retry (transient) or give up (permanent). The README's error table lists
 * them. A permanent failure repeats however often it is retried; a transient one may not.
 */
public enum ErrorCode {
    INVALID_REQUEST(400, false),
    URL_NOT_ALLOWED(400, false),
    FETCH_FAILED(422, false),
    TOO_LARGE(413, false),
    NOT_AN_IMAGE(415, false),
    UNSUPPORTED_FORMAT(415, false),
    CORRUPT_IMAGE(422, false),
    TOO_MANY_PIXELS(413, false),
    UPSTREAM_TIMEOUT(504, true),
    UPSTREAM_ERROR(502, true),
    OVERLOADED(429, true),
    DEADLINE_EXCEEDED(504, true),
    MODEL_FAILURE(500, true),
    INTERNAL(500, true);

    private final int httpStatus;
    private final boolean transientFailure;

    ErrorCode(int httpStatus, boolean transientFailure) {
        this.httpStatus = httpStatus;
        this.transientFailure = transientFailure;
    }

    public int httpStatus() {
        return httpStatus;
    }

    /** A retry may succeed: the broker should redeliver rather than dead-letter. */
    public boolean isTransient() {
        return transientFailure;
    }
}
