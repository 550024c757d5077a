package dev.captionfn.lambda;

import dev.captionfn.caption.CaptionException;

/**
 * A caption that failed, as Lambda reports it: the invocation's {@code errorMessage} starts with
 * the error code, then the message and the request's id
 * ({@code "NOT_AN_IMAGE: the bytes are not an image [id=req-42]"}), so that a caller sees the same
 * stable code as every other way in, and never a stack trace. (The {@code errorType} is Funqy's
 * {@code io.quarkus.funqy.runtime.ApplicationException}, which wraps whatever a function throws
 * and takes this exception's {@code toString()} as its message.)
 */
public class CaptionFailed extends RuntimeException {
    private final transient CaptionException failure;

    CaptionFailed(CaptionException failure) {
        super(describe(failure), null, false, false);
        this.failure = failure;
    }

    private static String describe(CaptionException f) {
        return f.code().name() + ": " + f.getMessage() + (f.requestId() == null ? "" : " [id=" + f.requestId() + "]");
    }

    public CaptionException failure() {
        return failure;
    }

    /** Funqy reports a wrapped exception by its toString(): the message alone keeps the code first. */
    @Override
    public String toString() {
        return getMessage();
    }
}
