package dev.captionfn.caption;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The context attributes of a CloudEvent the function sends (CloudEvents 1.0), for the ways in
 * that write events by hand: the HTTP error events and the Kafka results, which must answer in
 * the request's own mode, and the Lambda build's events on its result queue. The binary mode puts each attribute in a header under the transport's
 * prefix ({@code ce-} for HTTP, {@code ce_} for Kafka); the structured mode puts them, with the
 * data, in one JSON object.
 *
 * @param subject the image URL, or null when unknown
 * @param correlationId the request's id (extension {@value #CORRELATION}), or null when unknown
 */
public record OutgoingEvent(String type, String source, String subject, String correlationId) {
    /** Extension naming the request an event answers (extension names are lowercase alphanumerics). */
    public static final String CORRELATION = "correlationid";
    public static final String STRUCTURED_CONTENT_TYPE = "application/cloudevents+json";
    public static final String DATA_CONTENT_TYPE = "application/json";

    /** specversion, a fresh id, type, source, time, and subject and correlation when known, in that order. */
    public Map<String, String> attributes() {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("specversion", "1.0");
        attributes.put("id", UUID.randomUUID().toString());
        attributes.put("type", type);
        attributes.put("source", source);
        attributes.put("time", Instant.now().toString());
        if (subject != null) {
            attributes.put("subject", subject);
        }
        if (correlationId != null) {
            attributes.put(CORRELATION, correlationId);
        }
        return attributes;
    }

    /** The whole event as the structured mode's JSON object, data included. */
    public Map<String, Object> structured(Object data) {
        Map<String, Object> event = new LinkedHashMap<>(attributes());
        event.put("datacontenttype", DATA_CONTENT_TYPE);
        event.put("data", data);
        return event;
    }
}
