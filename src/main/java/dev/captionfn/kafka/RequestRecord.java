package dev.captionfn.kafka;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.caption.CaptionException;
import dev.captionfn.caption.CaptionRequest;
import dev.captionfn.caption.ErrorCode;
import dev.captionfn.caption.OutgoingEvent;
import dev.captionfn.caption.RequestJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * A request record read in one of its three shapes: the function's request JSON as the value, a
 * CloudEvent in binary mode ({@code ce_} headers, the request JSON as the value) or a CloudEvent
 * in structured mode ({@code content-type: application/cloudevents+json}, the whole event as the
 * value), per the CloudEvents Kafka protocol binding.
 *
 * <p>Read by hand rather than by the connector's CloudEvents support because the answer must come
 * back in the request's own mode, record by record, while the connector writes one mode per
 * channel.
 *
 * @param request the request, its id filled in (the event's id, else topic-partition-offset, so
 *     that a redelivered record keeps its id)
 * @param mode how the request came, and so how its answer goes
 * @param eventId the request event's id (CloudEvents only)
 */
record RequestRecord(CaptionRequest request, Mode mode, String eventId) {
    enum Mode { PLAIN, BINARY_EVENT, STRUCTURED_EVENT }

    static final String CONTENT_TYPE = "content-type";
    static final String CE_PREFIX = "ce_";

    static RequestRecord parse(byte[] value, Headers headers, String requestType, String recordId, ObjectMapper json) {
        if (value == null || value.length == 0) {
            throw invalid("the record has no value: send {\"imageUrl\": \"https://…\"} as JSON");
        }
        if (header(headers, CE_PREFIX + "specversion") != null) {
            checkType(header(headers, CE_PREFIX + "type"), requestType);
            String id = header(headers, CE_PREFIX + "id");
            return new RequestRecord(read(json, value, "the event's data").orId(id != null ? id : recordId), Mode.BINARY_EVENT, id);
        }
        String contentType = header(headers, CONTENT_TYPE);
        if (contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith(OutgoingEvent.STRUCTURED_CONTENT_TYPE)) {
            JsonNode event = tree(json, value, "the structured event");
            if (!event.isObject()) {
                throw invalid("the structured event is not a JSON object");
            }
            checkType(event.path("type").asText(null), requestType);
            String id = event.path("id").asText(null);
            JsonNode data = event.get("data");
            if (data == null || data.isNull()) {
                throw invalid("the event has no data: send {\"imageUrl\": \"https://…\"} as its JSON data");
            }
            return new RequestRecord(RequestJson.fromTree(data).orId(id != null ? id : recordId), Mode.STRUCTURED_EVENT, id);
        }
        return new RequestRecord(read(json, value, "the record's value").orId(recordId), Mode.PLAIN, null);
    }

    private static void checkType(String type, String requestType) {
        if (!requestType.equals(type)) {
            throw invalid("the event's type is '" + type + "', not the request type '" + requestType + "'");
        }
    }


    /** The request itself: the same strict reading as every other way in. */
    private static CaptionRequest read(ObjectMapper json, byte[] value, String what) {
        return RequestJson.fromTree(tree(json, value, what));
    }

    private static JsonNode tree(ObjectMapper json, byte[] value, String what) {
        try {
            return json.readTree(value);
        } catch (JacksonException e) {
            throw RequestJson.notJson(what, e);
        } catch (IOException e) {
            throw invalid(what + " cannot be read: " + e.getMessage());
        }
    }

    static String header(Headers headers, String name) {
        Header h = headers.lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static CaptionException invalid(String message) {
        return new CaptionException(ErrorCode.INVALID_REQUEST, message);
    }
}
