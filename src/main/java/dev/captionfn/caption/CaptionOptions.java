package dev.captionfn.caption;

/**
 * Generation options a request may set; each one left out takes the model's default from
 * model.json. All are capped by the server's limits. Read from JSON as part of the request
 * ({@link RequestJson}): integers must be integers, penalties numbers, earlyStopping a boolean.
 */
public record CaptionOptions(
        Integer numBeams,
        Integer maxNewTokens,
        Integer minNewTokens,
        Double repetitionPenalty,
        Double lengthPenalty,
        Boolean earlyStopping) {

    public static CaptionOptions none() {
        return new CaptionOptions(null, null, null, null, null, null);
    }
}
