package dev.captionfn.testing;

import java.util.List;

/**
 * Requests of the wrong shape or with fields of the wrong JSON type, each with the message the
 * answer must carry (INVALID_REQUEST, naming the field and the type it needs): one table for every
 * way in, so that HTTP, CloudEvents, Kafka and Lambda are held to the same reading.
 */
public final class WrongTypes {
    private WrongTypes() {}

    /**
     * @param what the case, also used as its request id where the request has a readable one
     * @param json the request as sent
     * @param message what the error message must contain
     * @param hasId whether {@code json} carries {@code what} as a readable string id
     */
    public record Case(String what, String json, String message, boolean hasId) {
        @Override
        public String toString() {
            return what;
        }
    }

    /** The cases, with {@code imageUrl} (never fetched: the request is refused before) where the request needs one. */
    public static List<Case> cases(String imageUrl) {
        String url = "\"imageUrl\": \"" + imageUrl + "\"";
        return List.of(
                withId("wt-url-number", "\"imageUrl\": 5", "imageUrl must be a string, not a number"),
                withId("wt-url-boolean", "\"imageUrl\": true", "imageUrl must be a string, not a boolean"),
                withId("wt-url-array", "\"imageUrl\": [\"" + imageUrl + "\"]", "imageUrl must be a string, not an array"),
                withId("wt-url-object", "\"imageUrl\": {\"href\": \"" + imageUrl + "\"}", "imageUrl must be a string, not an object"),
                withId("wt-prompt-number", url + ", \"prompt\": 42", "prompt must be a string, not a number"),
                new Case("wt-id-number", "{" + url + ", \"id\": 7}", "id must be a string, not a number", false),
                withId("wt-options-string", url + ", \"options\": \"fast\"", "options must be an object, not a string"),
                withId("wt-options-array", url + ", \"options\": [1, 2]", "options must be an object, not an array"),
                withId("wt-beams-string", url + ", \"options\": {\"numBeams\": \"3\"}", "options.numBeams must be an integer, not a string"),
                withId("wt-beams-fraction", url + ", \"options\": {\"numBeams\": 2.5}", "options.numBeams must be an integer, not 2.5"),
                withId("wt-max-tokens-huge", url + ", \"options\": {\"maxNewTokens\": 10000000000}",
                        "options.maxNewTokens must be an integer from -2147483648 to 2147483647, not 10000000000"),
                withId("wt-min-tokens-boolean", url + ", \"options\": {\"minNewTokens\": true}", "options.minNewTokens must be an integer, not a boolean"),
                withId("wt-penalty-string", url + ", \"options\": {\"repetitionPenalty\": \"1.5\"}",
                        "options.repetitionPenalty must be a number, not a string"),
                withId("wt-length-penalty-array", url + ", \"options\": {\"lengthPenalty\": [1.0]}", "options.lengthPenalty must be a number, not an array"),
                withId("wt-early-string", url + ", \"options\": {\"earlyStopping\": \"true\"}",
                        "options.earlyStopping must be a boolean (true or false), not a string"),
                withId("wt-early-number", url + ", \"options\": {\"earlyStopping\": 1}", "options.earlyStopping must be a boolean (true or false), not a number"),
                new Case("wt-array", "[{" + url + "}]", "the request must be a JSON object such as {\"imageUrl\": \"https://…\"}, not an array", false),
                new Case("wt-string", "\"" + imageUrl + "\"", "the request must be a JSON object such as {\"imageUrl\": \"https://…\"}, not a string", false),
                new Case("wt-number", "5", "the request must be a JSON object such as {\"imageUrl\": \"https://…\"}, not a number", false));
    }

    /**
     * A request every way in accepts although it is not the plainest form: {@code numBeams} written
     * {@code 2.0}, nulls for fields left to their defaults, a field this version does not know.
     */
    public static String acceptedVariant(String imageUrl, String id) {
        return "{\"imageUrl\": \"" + imageUrl + "\", \"id\": \"" + id + "\", \"prompt\": null, \"comment\": {\"from\": \"a newer client\"},"
                + " \"options\": {\"numBeams\": 2.0, \"maxNewTokens\": null, \"repetitionPenalty\": 1, \"earlyStopping\": false}}";
    }

    private static Case withId(String what, String fields, String message) {
        return new Case(what, "{\"id\": \"" + what + "\", " + fields + "}", message, true);
    }
}
