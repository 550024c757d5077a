package dev.captionfn.caption;

import dev.captionfn.fetch.FetchException;
import dev.captionfn.fetch.FetchUrl;
import dev.captionfn.generate.GenerationOptions;
import java.util.UUID;

/**
 * A request checked and completed: a parsed URL (parsed once; the fetcher takes it as it is), the
 * prompt, an id, and options within the limits.
 */
record PreparedRequest(FetchUrl url, String prompt, String id, GenerationOptions options) {
    static final int MAX_ID_CHARS = 256;

    /** @param defaultPrompt model.json's prompt @param defaults model.json's generation options */
    static PreparedRequest of(CaptionRequest request, String defaultPrompt, GenerationOptions defaults, RequestLimits limits) {
        if (request == null) {
            throw invalid("the request is empty: send {\"imageUrl\": \"https://…\"}");
        }
        String id = request.id() == null ? UUID.randomUUID().toString() : request.id();
        if (id.isBlank() || id.length() > MAX_ID_CHARS) {
            throw invalid("id must be 1 to " + MAX_ID_CHARS + " characters");
        }
        FetchUrl url;
        try {
            url = FetchUrl.parse(request.imageUrl());
        } catch (FetchException e) {
            throw ErrorCodes.failure(e);
        }
        String prompt = request.prompt() == null ? defaultPrompt : request.prompt().strip();
        if (prompt.isEmpty()) {
            throw invalid("prompt is empty; leave it out for the model's default");
        }
        if (prompt.length() > limits.maxPromptChars()) {
            throw invalid("prompt is " + prompt.length() + " characters; the limit is " + limits.maxPromptChars());
        }
        CaptionOptions options = request.options() == null ? CaptionOptions.none() : request.options();
        return new PreparedRequest(url, prompt, id, resolveOptions(options, defaults, limits));
    }

    /** model.json's defaults, then the request's choices, each capped by the server's limits. */
    static GenerationOptions resolveOptions(CaptionOptions o, GenerationOptions defaults, RequestLimits limits) {
        try {
            int beams = Math.min(o.numBeams() != null ? o.numBeams() : defaults.numBeams(), limits.maxBeams());
            int maxNew = Math.min(o.maxNewTokens() != null ? o.maxNewTokens() : defaults.maxNewTokens(), limits.maxNewTokens());
            int minNew = o.minNewTokens() != null ? o.minNewTokens() : Math.min(defaults.minNewTokens(), maxNew);
            return new GenerationOptions(
                    beams, maxNew, minNew,
                    o.repetitionPenalty() != null ? o.repetitionPenalty() : defaults.repetitionPenalty(),
                    o.lengthPenalty() != null ? o.lengthPenalty() : defaults.lengthPenalty(),
                    o.earlyStopping() != null ? o.earlyStopping() : defaults.earlyStopping());
        } catch (IllegalArgumentException e) {
            throw invalid("options: " + e.getMessage());
        }
    }

    private static CaptionException invalid(String message) {
        return new CaptionException(ErrorCode.INVALID_REQUEST, message);
    }
}
