package dev.captionfn.caption;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import java.io.IOException;
import java.math.BigDecimal;

/**
 * The one reading of a caption request, shared by every way in (the HTTP function, CloudEvents,
 * Kafka, Lambda): a field of the wrong JSON type is INVALID_REQUEST naming the field and the type
 * it needs ({@code "imageUrl must be a string, not a number"}), never coerced.
 *
 * <p>Why by hand over the JSON tree rather than Jackson's own binding with coercion switched off
 * (an ObjectMapperCustomizer with {@code ALLOW_COERCION_OF_SCALARS} off, {@code ACCEPT_FLOAT_AS_INT}
 * off and a CoercionConfig per logical type): each way in reads with a different ObjectMapper
 * (Funqy copies the application's and turns on case-insensitive names, Funqy's Lambda binding has
 * its own, Kafka uses the application's), so a mapper setting would have to be repeated on every
 * one of them and would also bend the JSON of every other type in the application; and Jackson's
 * failures name Java types ({@code `java.lang.Integer`}) that would still have to be mapped back to
 * field names for the caller. Ten fields checked against four JSON types are simpler than either.
 * The record carries the same rule as its deserializer ({@link Strict}), so any mapper that binds a
 * {@link CaptionRequest} reads it this way too.
 *
 * <p>The rule: the request is a JSON object; {@code imageUrl}, {@code prompt} and {@code id} are
 * strings; {@code options} is an object whose {@code numBeams}, {@code maxNewTokens} and
 * {@code minNewTokens} are integers (a number without a fraction: {@code 3} or {@code 3.0}, as JSON
 * Schema's {@code integer}), {@code repetitionPenalty} and {@code lengthPenalty} numbers and
 * {@code earlyStopping} a boolean. {@code null} is the same as leaving a field out. Field names are
 * matched exactly as documented; fields this version does not know are ignored, as before, so that
 * a producer may send more than a request needs (a newer client, a CloudEvent's extra data).
 * Ranges (a positive {@code numBeams}, the server's caps) are checked later, with the model's
 * defaults, by the captioning service.
 */
public final class RequestJson {
    static final String EXAMPLE = "{\"imageUrl\": \"https://…\"}";

    private RequestJson() {}

    /**
     * Reads a request from its JSON bytes (a Kafka record's value, an SQS message's body).
     *
     * @throws CaptionException INVALID_REQUEST when the bytes are empty or not JSON, the JSON is
     *     not an object, or a field has the wrong type; the message names the field and the type it
     *     needs
     */
    public static CaptionRequest read(ObjectMapper json, byte[] body) {
        if (body == null || body.length == 0) {
            throw invalid("the request is empty: send " + EXAMPLE);
        }
        JsonNode tree;
        try {
            tree = json.readTree(body);
        } catch (JacksonException e) {
            throw notJson("the request", e);
        } catch (IOException e) {
            throw invalid("the request cannot be read: " + e.getMessage());
        }
        return fromTree(tree);
    }

    /**
     * Reads a request from JSON already parsed (what Funqy hands the functions, a structured
     * CloudEvent's data).
     *
     * @param node the request; null or missing when there was none
     * @throws CaptionException INVALID_REQUEST as {@link #read}
     */
    public static CaptionRequest fromTree(JsonNode node) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            throw invalid("the request is empty: send " + EXAMPLE);
        }
        if (!node.isObject()) {
            throw invalid("the request must be a JSON object such as " + EXAMPLE + ", not " + describe(node));
        }
        // the id and URL, when they are readable, name the request in the error answer
        String id = textOrNull(node.get("id"));
        String url = textOrNull(node.get("imageUrl"));
        try {
            return new CaptionRequest(
                    string(node, "imageUrl", "imageUrl"),
                    string(node, "prompt", "prompt"),
                    string(node, "id", "id"),
                    options(node.get("options")));
        } catch (CaptionException e) {
            throw e.withRequest(id, url);
        }
    }

    /** A body or event data that is not JSON at all, with the parser's reason. */
    public static CaptionException notJson(String what, JacksonException e) {
        return new CaptionException(ErrorCode.INVALID_REQUEST, what + " is not JSON: " + firstLine(e.getOriginalMessage()), e);
    }

    private static CaptionOptions options(JsonNode options) {
        if (absent(options)) {
            return null;
        }
        if (!options.isObject()) {
            throw invalid("options must be an object, not " + describe(options));
        }
        return new CaptionOptions(
                integer(options, "numBeams"),
                integer(options, "maxNewTokens"),
                integer(options, "minNewTokens"),
                number(options, "repetitionPenalty"),
                number(options, "lengthPenalty"),
                bool(options, "earlyStopping"));
    }

    private static String string(JsonNode object, String name, String path) {
        JsonNode v = object.get(name);
        if (absent(v)) {
            return null;
        }
        if (!v.isTextual()) {
            throw invalid(path + " must be a string, not " + describe(v));
        }
        return v.textValue();
    }

    private static Integer integer(JsonNode options, String name) {
        JsonNode v = options.get(name);
        if (absent(v)) {
            return null;
        }
        String path = "options." + name;
        if (!v.isNumber()) {
            throw invalid(path + " must be an integer, not " + describe(v));
        }
        BigDecimal value = v.decimalValue();
        if (value.signum() != 0 && value.stripTrailingZeros().scale() > 0) {
            throw invalid(path + " must be an integer, not " + v.asText());
        }
        try {
            return value.intValueExact();
        } catch (ArithmeticException tooLarge) {
            throw invalid(path + " must be an integer from " + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE + ", not " + v.asText());
        }
    }

    private static Double number(JsonNode options, String name) {
        JsonNode v = options.get(name);
        if (absent(v)) {
            return null;
        }
        String path = "options." + name;
        if (!v.isNumber()) {
            throw invalid(path + " must be a number, not " + describe(v));
        }
        double value = v.doubleValue();
        if (!Double.isFinite(value)) {
            throw invalid(path + " must be a finite number, not " + v.asText());
        }
        return value;
    }

    private static Boolean bool(JsonNode options, String name) {
        JsonNode v = options.get(name);
        if (absent(v)) {
            return null;
        }
        if (!v.isBoolean()) {
            throw invalid("options." + name + " must be a boolean (true or false), not " + describe(v));
        }
        return v.booleanValue();
    }

    private static boolean absent(JsonNode v) {
        return v == null || v.isNull() || v.isMissingNode();
    }

    private static String textOrNull(JsonNode v) {
        return v != null && v.isTextual() ? v.textValue() : null;
    }

    /** The JSON type of a value, as the caller wrote it. */
    private static String describe(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT, POJO -> "an object";
            case BINARY -> "binary data";
            case NULL, MISSING -> "null";
        };
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

    /** This reading as the record's Jackson deserializer: a mapper binding a CaptionRequest gets the same rule. */
    public static final class Strict extends StdDeserializer<CaptionRequest> {
        public Strict() {
            super(CaptionRequest.class);
        }

        @Override
        public CaptionRequest deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            return fromTree(ctxt.readTree(p));
        }
    }
}
