package dev.captionfn.fetch;

import java.util.Objects;

/** A fetch that ended without bytes: its kind and a message that names the URL and what went wrong. */
public class FetchException extends RuntimeException {
    private final FetchError error;

    public FetchException(FetchError error, String message) {
        this(error, message, null);
    }

    public FetchException(FetchError error, String message, Throwable cause) {
        super(message, cause);
        this.error = Objects.requireNonNull(error, "error");
    }

    public FetchError error() {
        return error;
    }
}
