package dev.captionfn.caption;

/**
 * A request that ends without a caption, with its stable code, a message for the caller and, once
 * known, the request's id and image URL, so that the error answer names the request it belongs to.
 */
public class CaptionException extends RuntimeException {
    private final ErrorCode code;
    private final String requestId;
    private final String imageUrl;

    public CaptionException(ErrorCode code, String message) {
        this(code, message, null, null, null);
    }

    public CaptionException(ErrorCode code, String message, Throwable cause) {
        this(code, message, cause, null, null);
    }

    private CaptionException(ErrorCode code, String message, Throwable cause, String requestId, String imageUrl) {
        super(message, cause);
        this.code = code;
        this.requestId = requestId;
        this.imageUrl = imageUrl;
    }

    public ErrorCode code() {
        return code;
    }

    /** The id of the request that failed; null when the request could not be read. */
    public String requestId() {
        return requestId;
    }

    /** The image URL of the request that failed, as sent; null when the request could not be read. */
    public String imageUrl() {
        return imageUrl;
    }

    /** This failure, naming the request it belongs to (nulls keep what is already known). */
    public CaptionException withRequest(String id, String url) {
        String newId = id != null ? id : requestId;
        String newUrl = url != null ? url : imageUrl;
        if (java.util.Objects.equals(newId, requestId) && java.util.Objects.equals(newUrl, imageUrl)) {
            return this;
        }
        CaptionException copy = new CaptionException(code, getMessage(), getCause(), newId, newUrl);
        copy.setStackTrace(getStackTrace());
        return copy;
    }
}
