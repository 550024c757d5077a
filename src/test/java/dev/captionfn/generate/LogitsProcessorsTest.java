package dev.captionfn.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LogitsProcessorsTest {
    private static final TokenSpace TOKENS = new TokenSpace(new long[] {2}, 6, 8);

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeScoresOncePerDistinctToken() {
        float[] scores = {1f, -1f, 3f, -2f, 0f, 0f, 0f, 0f};
        new RepetitionPenaltyLogitsProcessor(2.0, new long[0]).process(new long[] {0, 1, 0, 3, 99}, 4, scores, 0, 8);
        assertArrayEquals(new float[] {0.5f, -2f, 3f, -4f, 0f, 0f, 0f, 0f}, scores);
    }

    @Test
    void repetitionPenaltyWorksOnTheRowAtItsOffset() {
        float[] scores = {9f, 9f, 4f, 4f};
        new RepetitionPenaltyLogitsProcessor(2.0, new long[0]).process(new long[] {1}, 1, scores, 2, 2);
        assertArrayEquals(new float[] {9f, 9f, 4f, 2f}, scores);
    }

    @Test
    void repetitionPenaltySeededWithPromptIdsPenalisesThemOnceBesideTheGeneratedTokens() {
        float[] scores = {1f, -1f, 3f, -2f, 4f, 0f, 0f, 0f};
        // prompt ids 2 (twice) and 99 (no column); generated 2 again and 3
        new RepetitionPenaltyLogitsProcessor(2.0, new long[] {2, 2, 99}).process(new long[] {2, 3}, 2, scores, 0, 8);
        assertArrayEquals(new float[] {1f, -1f, 1.5f, -4f, 4f, 0f, 0f, 0f}, scores);
    }

    @Test
    void minNewTokensBansEosOnlyUntilTheMinimumIsReached() {
        float[] scores = new float[8];
        var p = new MinNewTokensLogitsProcessor(2, new long[] {2, 5});
        p.process(new long[] {7}, 1, scores, 0, 8);
        assertEquals(Float.NEGATIVE_INFINITY, scores[2]);
        assertEquals(Float.NEGATIVE_INFINITY, scores[5]);
        float[] later = new float[8];
        p.process(new long[] {7, 7}, 2, later, 0, 8);
        assertEquals(0f, later[2]);
    }

    @Test
    void vocabularyMaskBansTheLogitColumnsPastTheVocabulary() {
        float[] scores = {1, 1, 1, 1, 1, 1, 1, 1};
        new VocabularyMaskLogitsProcessor(6).process(new long[0], 0, scores, 0, 8);
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, scores);
    }

    @Test
    void onlyProcessorsWhoseSettingIsNotNeutralAreAdded() {
        var neutral = new GenerationOptions(1, 10, 1, 1.0, 1.0, false);
        List<LogitsProcessor> some = LogitsProcessorList.forOptions(neutral, new TokenSpace(new long[] {2}, 8, 8), new long[0]).processors();
        assertEquals(1, some.size(), "a minimum of one new token still bans EOS at the first step");
        assertTrue(some.get(0) instanceof MinNewTokensLogitsProcessor);

        var penalised = new GenerationOptions(5, 10, 1, 1.5, 1.0, false);
        List<LogitsProcessor> all = LogitsProcessorList.forOptions(penalised, TOKENS, new long[0]).processors();
        assertEquals(List.of(RepetitionPenaltyLogitsProcessor.class, MinNewTokensLogitsProcessor.class,
                VocabularyMaskLogitsProcessor.class), all.stream().map(Object::getClass).toList());
    }

    @Test
    void theMinimumOfNewTokensIsNeverNeutralSoItsProcessorIsAlwaysAdded() {
        // HF leaves its processor out for a minimum of 0, the one minimum that bans nothing; no request has it
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(1, 10, 0, 1.0, 1.0, false));

        TokenSpace tokens = new TokenSpace(new long[] {2}, 8, 8);
        for (int min : new int[] {1, 4}) {
            var options = new GenerationOptions(1, 10, min, 1.0, 1.0, false);
            LogitsProcessorList list = LogitsProcessorList.forOptions(options, tokens, new long[0]);
            assertEquals(List.of(MinNewTokensLogitsProcessor.class),
                    list.processors().stream().map(Object::getClass).toList(), "minimum " + min);

            float[] first = {0f, 0f, 9f, 0f, 0f, 0f, 0f, 0f};
            list.process(new long[10], 0, first, 0, 8);
            assertEquals(Float.NEGATIVE_INFINITY, first[2], "a minimum of " + min + " bans EOS as the first token");
            float[] atTheMinimum = {0f, 0f, 9f, 0f, 0f, 0f, 0f, 0f};
            list.process(new long[10], min, atTheMinimum, 0, 8);
            assertEquals(9f, atTheMinimum[2], "a minimum of " + min + " lets EOS through once it is reached");
        }
    }
}
