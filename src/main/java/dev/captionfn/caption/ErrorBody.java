package dev.captionfn.caption;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A failure as every way in writes it for the caller: the HTTP error answer and error event, and
 * the Lambda result queue's error event carry the same JSON.
 *
 * @param id the request's id; null (written as null) when the request could not be read
 * @param imageUrl the image URL as sent; left out of the JSON when unknown
 */
public record ErrorBody(ErrorCode code, String message, String id, String imageUrl) {

    public static ErrorBody of(CaptionException e) {
        return new ErrorBody(e.code(), e.getMessage(), e.requestId(), e.imageUrl());
    }

    /** {@code {code, message, id, imageUrl}}, in that order. */
    public Map<String, Object> json() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("code", code.name());
        body.put("message", message);
        body.put("id", id);
        if (imageUrl != null) {
            body.put("imageUrl", imageUrl);
        }
        return body;
    }
}
