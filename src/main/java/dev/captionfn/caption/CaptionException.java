package dev.captionfn.caption;

/** A request that ends without a caption, with its stable code and a message for the caller. */
public class CaptionException extends RuntimeException {
    private final ErrorCode code;

    public CaptionException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public CaptionException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }
}
