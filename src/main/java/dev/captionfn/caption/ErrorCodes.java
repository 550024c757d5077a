package dev.captionfn.caption;

import dev.captionfn.fetch.FetchError;
import dev.captionfn.image.ImageError;

/** Maps the stages' own failure kinds onto the function's error codes. */
final class ErrorCodes {
    private ErrorCodes() {}

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
