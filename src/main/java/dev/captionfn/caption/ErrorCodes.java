package dev.captionfn.caption;

import dev.captionfn.fetch.FetchError;
import dev.captionfn.fetch.FetchException;
import dev.captionfn.image.ImageDecodeException;
import dev.captionfn.image.ImageError;

/** Maps the stages' own failure kinds onto the function's error codes. */
final class ErrorCodes {
    private ErrorCodes() {}

    /** A fetch's failure as the function reports it: its kind's code, its message as it is. */
    static CaptionException failure(FetchException e) {
        return new CaptionException(of(e.error()), e.getMessage(), e);
    }

    /** An image that cannot be decoded, as the function reports it. */
    static CaptionException failure(ImageDecodeException e) {
        return new CaptionException(of(e.error()), e.getMessage(), e);
    }

    static ErrorCode of(ImageError error) {
        return switch (error) {
            case NOT_AN_IMAGE -> ErrorCode.NOT_AN_IMAGE;
            case UNSUPPORTED_FORMAT -> ErrorCode.UNSUPPORTED_FORMAT;
            case CORRUPT_IMAGE -> ErrorCode.CORRUPT_IMAGE;
            case TOO_MANY_PIXELS -> ErrorCode.TOO_MANY_PIXELS;
        };
    }

    static ErrorCode of(FetchError error) {
        return switch (error) {
            case INVALID_URL -> ErrorCode.INVALID_REQUEST;
            case NOT_ALLOWED -> ErrorCode.URL_NOT_ALLOWED;
            case FAILED -> ErrorCode.FETCH_FAILED;
            case UPSTREAM_ERROR -> ErrorCode.UPSTREAM_ERROR;
            case TIMEOUT -> ErrorCode.UPSTREAM_TIMEOUT;
            case TOO_LARGE -> ErrorCode.TOO_LARGE;
        };
    }
}
