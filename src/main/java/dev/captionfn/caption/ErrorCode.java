package dev.captionfn.caption;

/**
 * The stable error codes of the function, with the HTTP status a plain request gets and whether a
 * broker or queue should retry (transient) or give up (permanent). The README's error table lists
 * them. A permanent failure repeats however often it is retried; a transient one may not.
 */
public enum ErrorCode {
    INVALID_REQUEST(400, false, "the request is malformed or a field is out of range"),
    URL_NOT_ALLOWED(400, false, "the image URL is not an http or https URL the server may fetch"),
    FETCH_FAILED(422, false, "the image URL answered with an error or could not be reached"),
    TOO_LARGE(413, false, "the image is larger than the byte limit"),
    NOT_AN_IMAGE(415, false, "the bytes are not an image"),
    UNSUPPORTED_FORMAT(415, false, "the image format is not one the server decodes"),
    CORRUPT_IMAGE(422, false, "the image is truncated or broken"),
    TOO_MANY_PIXELS(413, false, "the image declares more pixels than the limit"),
    UPSTREAM_TIMEOUT(504, true, "the image server did not answer in time"),
    UPSTREAM_ERROR(502, true, "the image server failed (5xx, 429 or 408)"),
    OVERLOADED(429, true, "this instance holds as many requests as it may (captionfn.limits.max-in-flight); retry later"),
    DEADLINE_EXCEEDED(504, true, "the request did not finish within captionfn.limits.deadline"),
    MODEL_FAILURE(500, true, "the model failed while captioning"),
    INTERNAL(500, true, "an unexpected server error");

    private final int httpStatus;
    private final boolean transientFailure;
    private final String meaning;

    ErrorCode(int httpStatus, boolean transientFailure, String meaning) {
        this.httpStatus = httpStatus;
        this.transientFailure = transientFailure;
        this.meaning = meaning;
    }

    public int httpStatus() {
        return httpStatus;
    }

    /** A retry may succeed: the broker should redeliver rather than dead-letter. */
    public boolean isTransient() {
        return transientFailure;
    }

    public String meaning() {
        return meaning;
    }
}
