package dev.captionfn.caption;

/**
 * A request that ends without a caption, with its stable code, a message for the caller and, once
 * known, the request's id, so that the error answer can name the request it belongs to.
 */
public class CaptionException extends RuntimeException {
    private final ErrorCode code;
    private final String requestId;

    public CaptionException(ErrorCode code, String message) {
        this(code, message, null, null);
    }

    public CaptionException(ErrorCode code, String message, Throwable cause) {
        this(code, message, cause, null);
    }

    private CaptionException(ErrorCode code, String message, Throwable cause, String requestId) {
        super(message, cause);
        this.code = code;
        this.requestId = requestId;
    }

    public ErrorCode code() {
        return code;
    }

    /** The id of the request that failed; null when the request could not be read. */
    public String requestId() {
        return requestId;
    }

    public CaptionException withRequestId(String id) {
        if (id == null || id.equals(requestId)) {
            return this;
        }
        CaptionException copy = new CaptionException(code, getMessage(), getCause(), id);
        copy.setStackTrace(getStackTrace());
        return copy;
    }
}
