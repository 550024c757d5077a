package dev.captionfn.caption;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * A caption request read from the bytes of a message body (an SQS message, a Kafka record): any
 * body that is not a JSON object of the request's shape is INVALID_REQUEST, never a stack trace.
 */
public final class RequestJson {
    private RequestJson() {}

    public static CaptionRequest read(ObjectMapper json, byte[] body) {
        if (body == null || body.length == 0) {
            throw invalid("the body is empty: send {\"imageUrl\": \"https://…\"} as JSON");
        }
        JsonNode node;
        try {
            node = json.readTree(body);
        } catch (IOException e) {
            throw invalid("the body is not JSON: " + firstLine(e.getMessage()));
        }
        if (node == null || !node.isObject()) {
            throw invalid("the body is not a JSON object: send {\"imageUrl\": \"https://…\"}");
        }
        try {
            return json.treeToValue(node, CaptionRequest.class);
        } catch (IOException | IllegalArgumentException e) {
            throw invalid("not a caption request (imageUrl, prompt, id, options): " + firstLine(e.getMessage()));
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    private static CaptionException invalid(String message) {
        return new CaptionException(ErrorCode.INVALID_REQUEST, message);
    }
}
