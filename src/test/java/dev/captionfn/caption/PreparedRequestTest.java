package dev.captionfn.caption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.testing.TestConfig;
import org.junit.jupiter.api.Test;

/**
 * A request's options and fields as the service resolves them, without Quarkus: model.json's
 * defaults, then the request's choices, each capped by the server's limits (the defaults of
 * captionfn.limits.*, read through the application's own mapping).
 */
class PreparedRequestTest {
    private static final RequestLimits LIMITS = Settings.requests(TestConfig.defaults());
    /** InstructBLIP's LAVIS defaults, as the tiny model's model.json has them. */
    private static final GenerationOptions MODEL = new GenerationOptions(5, 30, 1, 1.5, 1.0, false);
    private static final String URL = "https://images.example/cat.jpg";

    private static PreparedRequest prepare(CaptionOptions options) {
        return PreparedRequest.of(new CaptionRequest(URL, null, "r1", options), "a short description:", MODEL, LIMITS);
    }

    private static CaptionOptions options(Integer beams, Integer maxNew, Integer minNew) {
        return new CaptionOptions(beams, maxNew, minNew, null, null, null);
    }

    private static void assertInvalid(String expected, Runnable prepare) {
        CaptionException e = assertThrows(CaptionException.class, prepare::run);
        assertEquals(ErrorCode.INVALID_REQUEST, e.code());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void aRequestWithoutOptionsGetsTheModelsDefaults() {
        assertEquals(MODEL, prepare(null).options());
        assertEquals(MODEL, prepare(CaptionOptions.none()).options());
    }

    @Test
    void eachOptionTheRequestSetsReplacesOnlyThatDefault() {
        GenerationOptions o = prepare(new CaptionOptions(1, null, null, 1.0, null, true)).options();
        assertEquals(new GenerationOptions(1, 30, 1, 1.0, 1.0, true), o);
    }

    @Test
    void beamsAndNewTokensPastTheServersLimitsAreCutToThem() {
        assertEquals(LIMITS.maxBeams(), prepare(options(LIMITS.maxBeams() + 10, null, null)).options().numBeams());
        assertEquals(LIMITS.maxNewTokens(), prepare(options(null, LIMITS.maxNewTokens() + 1000, null)).options().maxNewTokens());
    }

    @Test
    void theModelsMinimumFollowsAMaximumTheRequestLowersBelowIt() {
        GenerationOptions model = new GenerationOptions(5, 30, 8, 1.5, 1.0, false);
        GenerationOptions o = PreparedRequest.resolveOptions(options(null, 4, null), model, LIMITS);
        assertEquals(4, o.maxNewTokens());
        assertEquals(4, o.minNewTokens());
    }

    @Test
    void optionsDecodingRefusesAreInvalidRequestsNamingTheSetting() {
        assertInvalid("options: min_new_tokens must be between 1 and max_new_tokens (5), was 9", () -> prepare(options(null, 5, 9)));
        assertInvalid("options: num_beams must be at least 1, was 0", () -> prepare(options(0, null, null)));
        assertInvalid("options: repetition_penalty must be a positive number",
                () -> prepare(new CaptionOptions(null, null, null, -1.0, null, null)));
    }

    @Test
    void thePromptDefaultsToTheModelsAndIsStrippedAndBounded() {
        assertEquals("a short description:", prepare(null).prompt());
        var request = new CaptionRequest(URL, "  what is this?  ", "r1", null);
        assertEquals("what is this?", PreparedRequest.of(request, "unused", MODEL, LIMITS).prompt());
        assertInvalid("prompt is empty", () -> PreparedRequest.of(new CaptionRequest(URL, "   ", "r1", null), "p", MODEL, LIMITS));
        String tooLong = "x".repeat(LIMITS.maxPromptChars() + 1);
        assertInvalid("prompt is " + tooLong.length() + " characters; the limit is " + LIMITS.maxPromptChars(),
                () -> PreparedRequest.of(new CaptionRequest(URL, tooLong, "r1", null), "p", MODEL, LIMITS));
    }

    @Test
    void anIdIsGeneratedWhenAbsentAndBoundedWhenGiven() {
        String generated = PreparedRequest.of(new CaptionRequest(URL, null, null, null), "p", MODEL, LIMITS).id();
        assertEquals(36, generated.length(), "a UUID: " + generated);
        assertInvalid("id must be 1 to 256 characters",
                () -> PreparedRequest.of(new CaptionRequest(URL, null, "x".repeat(257), null), "p", MODEL, LIMITS));
        assertInvalid("id must be 1 to 256 characters", () -> PreparedRequest.of(new CaptionRequest(URL, null, " ", null), "p", MODEL, LIMITS));
    }

    @Test
    void anEmptyRequestOrAMissingUrlIsInvalid() {
        assertInvalid("the request is empty", () -> PreparedRequest.of(null, "p", MODEL, LIMITS));
        assertInvalid("imageUrl is required", () -> PreparedRequest.of(new CaptionRequest(null, null, "r1", null), "p", MODEL, LIMITS));
    }

    @Test
    void theUrlIsParsedOnceIntoWhatTheFetcherTakes() {
        assertEquals(URL, prepare(null).url().toString());
    }
}
