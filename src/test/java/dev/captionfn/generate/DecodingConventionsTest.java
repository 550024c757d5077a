package dev.captionfn.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * Each place where the LAVIS and transformers conventions part, shown on hand-made logits where
 * the two choose differently. The expected ids were also checked against transformers 5.18's own
 * generate() over the same logits (a scripted PyTorch model) and against the Python LAVIS
 * reference search.
 */
class DecodingConventionsTest {
    private static final int WIDTH = 6;
    private static final long EOS = 1;
    private static final TokenSpace TOKENS = new TokenSpace(new long[] {EOS}, WIDTH, WIDTH);

    /** A decoder whose next-token distribution depends on the row's whole history. */
    static final class HistoryDecoder implements DecoderState {
        private final Map<List<Long>, float[]> table;
        private final float[] otherwise;
        private List<List<Long>> rows = List.of(List.of());

        HistoryDecoder(Map<List<Long>, float[]> table, float[] otherwise) {
            this.table = table;
            this.otherwise = otherwise;
        }

        @Override
        public int rows() {
            return rows.size();
        }

        @Override
        public int width() {
            return WIDTH;
        }

        @Override
        public float[] logits() {
            float[] out = new float[rows.size() * WIDTH];
            for (int r = 0; r < rows.size(); r++) {
                System.arraycopy(table.getOrDefault(rows.get(r), otherwise), 0, out, r * WIDTH, WIDTH);
            }
            return out;
        }

        @Override
        public void advance(int[] sourceRows, long[] tokens) {
            List<List<Long>> next = new ArrayList<>();
            for (int i = 0; i < sourceRows.length; i++) {
                List<Long> history = new ArrayList<>(rows.get(sourceRows[i]));
                history.add(tokens[i]);
                next.add(List.copyOf(history));
            }
            rows = next;
        }

        @Override
        public void close() {}
    }

    /**
     * Log-probabilities of a distribution over the 6 tokens: the given pairs (token, probability),
     * the rest shared evenly by the other tokens.
     */
    private static float[] dist(double... tokenAndProbability) {
        double[] p = new double[WIDTH];
        Arrays.fill(p, Double.NaN);
        double left = 1;
        int free = WIDTH;
        for (int i = 0; i < tokenAndProbability.length; i += 2) {
            p[(int) tokenAndProbability[i]] = tokenAndProbability[i + 1];
            left -= tokenAndProbability[i + 1];
            free--;
        }
        float[] out = new float[WIDTH];
        for (int t = 0; t < WIDTH; t++) {
            out[t] = (float) Math.log(Double.isNaN(p[t]) ? left / free : p[t]);
        }
        return out;
    }

    private static List<Long> history(long... tokens) {
        return Arrays.stream(tokens).boxed().toList();
    }

    private static long[] beam(DecodingConvention convention, Map<List<Long>, float[]> table, float[] otherwise,
            int maxNewTokens) {
        var options = new GenerationOptions(2, maxNewTokens, 1, 1.0, 1.0, false);
        var decoder = new HistoryDecoder(table, otherwise);
        return Generator.run(decoder, List.of(Search.forOptions(options, TOKENS, convention, new long[0])), s -> false).get(0);
    }

    @Test
    void eosCountsInTheLengthOfAFinishedHypothesisUnderTransformersOnly() {
        // [2, EOS] sums -1.0 and [3, 4, EOS] -1.8. LAVIS divides by the tokens before EOS:
        // -1.0 / 1 < -1.8 / 2 = -0.9, so the longer one wins. transformers counts EOS:
        // -1.0 / 2 = -0.5 > -1.8 / 3 = -0.6, so the shorter one does.
        Map<List<Long>, float[]> table = Map.of(
                history(), dist(2, .5, 3, .4, EOS, 1e-6),
                history(2), dist(EOS, Math.exp(-1.0) / .5),
                history(3), dist(4, .9, EOS, 1e-6),
                history(3, 4), dist(EOS, Math.exp(-1.8) / .36));
        float[] otherwise = dist(EOS, .02, 0, .02);
        for (int maxNewTokens : new int[] {3, 5, 10}) {
            assertArrayEquals(new long[] {3, 4, EOS}, beam(DecodingConvention.LAVIS, table, otherwise, maxNewTokens));
            assertArrayEquals(new long[] {2, EOS}, beam(DecodingConvention.TRANSFORMERS, table, otherwise, maxNewTokens));
        }
    }

    @Test
    void transformersStopsOnceTheBestRunningBeamOverItsNewLengthCannotBeatTheWorstFinishedOne() {
        // Step 2 finishes [2, EOS] (sum -1.5) and [3, EOS] (-1.6); the best running beam is [2, 4]
        // (-1.7), whose EOS next costs 0.01. transformers' heuristic: -1.7 / 2 > -1.6 / 2 fails, so
        // it stops with [2, EOS]. LAVIS's: worst -1.6 / 1 >= best candidate -1.5 / 1 fails, so it
        // goes on and finds [2, 4, EOS]. Both scorings rank that one first (LAVIS -1.71 / 2 = -0.855
        // over -1.5; transformers -1.71 / 3 = -0.57 over -0.75): only the stop rule parts them.
        Map<List<Long>, float[]> table = Map.of(
                history(), dist(2, .5, 3, .45, EOS, 1e-6),
                history(2), dist(EOS, Math.exp(-1.5) / .5, 4, Math.exp(-1.7) / .5),
                history(3), dist(EOS, Math.exp(-1.6) / .45),
                history(2, 4), dist(EOS, Math.exp(-0.01)));
        float[] otherwise = dist(EOS, .9);
        for (int maxNewTokens : new int[] {3, 5, 10}) {
            assertArrayEquals(new long[] {2, 4, EOS}, beam(DecodingConvention.LAVIS, table, otherwise, maxNewTokens));
            assertArrayEquals(new long[] {2, EOS}, beam(DecodingConvention.TRANSFORMERS, table, otherwise, maxNewTokens));
        }
    }

    @Test
    void atMaxLengthLavisFinishesTheRunningBeamsAndTransformersTheCandidatesRankedBelowNumBeams() {
        // The last step of a 2-beam search (max_new_tokens 2), candidates best first: two EOS, then
        // [2, 4] and [3, 4], the beams that would go on.
        var options = new GenerationOptions(2, 2, 1, 1.0, 1.0, false);
        BeamStep last = new BeamStep(1, new long[][] {{2, 0}, {3, 0}},
                new int[] {0, 1, 0, 1}, new long[] {EOS, EOS, 4, 4}, new float[] {-1.0f, -1.05f, -1.1f, -1.2f},
                new long[][] {{2, 4}, {3, 4}}, new float[] {-1.1f, -1.2f}, true);

        var lavis = new LavisBeamHypotheses(options, TOKENS);
        assertTrue(lavis.afterStep(last));
        // the EOS hypotheses (-1.0 / 1, -1.05 / 1) give way to the running beams (-1.1 / 2, -1.2 / 2)
        assertEquals(List.of(List.of(2L, 4L), List.of(3L, 4L)), lavis.finished());
        assertArrayEquals(new long[] {2, 4}, lavis.best(), "a hypothesis cut at max length has no EOS");

        var transformers = new TransformersBeamHypotheses(options, TOKENS);
        assertTrue(transformers.afterStep(last));
        // only the first num_beams candidates finish, whatever their token
        assertEquals(List.of(List.of(2L, EOS), List.of(3L, EOS)), transformers.finished());
        assertArrayEquals(new long[] {2, EOS}, transformers.best());
    }

    @Test
    void transformersFinishesATopRankedCandidateCutByMaxLengthWithItsLastToken() {
        var options = new GenerationOptions(2, 2, 1, 1.0, 1.0, false);
        BeamStep last = new BeamStep(1, new long[][] {{2, 0}, {3, 0}},
                new int[] {0, 0, 1, 1}, new long[] {4, EOS, 4, 5}, new float[] {-0.9f, -1.0f, -1.1f, -1.2f},
                new long[][] {{2, 4}, {3, 4}}, new float[] {-0.9f, -1.1f}, true);
        var transformers = new TransformersBeamHypotheses(options, TOKENS);
        transformers.afterStep(last);
        assertEquals(List.of(List.of(2L, 4L), List.of(2L, EOS)), transformers.finished());
    }

    @Test
    void theTransformersPenaltyCoversThePromptAndTheImagePlaceholderWhereLavisSeesGeneratedTokensOnly() {
        // token 3 is in the prompt and token 5 is the image placeholder; both lead the raw logits
        var options = new GenerationOptions(1, 1, 1, 1.5, 1.0, false);
        long[] prompt = {EOS, 3};
        float[] logits = {0f, 0f, 0f, 1.0f, 0.9f, 1.2f};

        assertEquals(5, greedyFirstToken(options, logits, DecodingConvention.LAVIS, OptionalLong.of(5), prompt));
        // 1.2 / 1.5 = 0.8 and 1.0 / 1.5 = 0.67 fall behind 0.9
        assertEquals(4, greedyFirstToken(options, logits, DecodingConvention.TRANSFORMERS, OptionalLong.of(5), prompt));
        // without a placeholder in model.json only the prompt is penalised
        assertEquals(5, greedyFirstToken(options, logits, DecodingConvention.TRANSFORMERS, OptionalLong.empty(), prompt));
    }

    private static long greedyFirstToken(GenerationOptions options, float[] logits, DecodingConvention convention,
            OptionalLong imageTokenId, long[] prompt) {
        var decoder = new HistoryDecoder(Map.of(), logits);
        var search = Search.forOptions(options, TOKENS, convention, convention.penalisedPromptIds(imageTokenId, prompt));
        return Generator.run(decoder, List.of(search), s -> false).get(0)[0];
    }

    @Test
    void lavisPenalisesNoPromptIdsAndTransformersThePlaceholderOnceThenThePrompt() {
        long[] prompt = {2, 7, 7, 9};
        assertArrayEquals(new long[0], DecodingConvention.LAVIS.penalisedPromptIds(OptionalLong.of(32001), prompt));
        assertArrayEquals(new long[] {32001, 2, 7, 7, 9},
                DecodingConvention.TRANSFORMERS.penalisedPromptIds(OptionalLong.of(32001), prompt));
        assertArrayEquals(prompt, DecodingConvention.TRANSFORMERS.penalisedPromptIds(OptionalLong.empty(), prompt));
    }

    @Test
    void theTransformersStopRuleComparesInFloat32AsPyTorchDoes() {
        var options = new GenerationOptions(1, 10, 1, 1.0, 1.0, false);
        var transformers = new TransformersBeamHypotheses(options, TOKENS);
        transformers.add(new long[] {2, EOS}, -0.7f);
        // -2.1f / 3 is -0.7f in float32, so the running beam cannot beat the finished one; in
        // double it is -0.69999997 > -0.69999999, and the search would go on
        assertTrue((double) -2.1f / 3 > (double) -0.7f);
        assertFalse(transformers.improvable(-2.1f, 3));
    }

    @Test
    void bothConventionsReturnEosWhereTheBestHypothesisEndedOnIt() {
        Map<List<Long>, float[]> table = new HashMap<>();
        table.put(history(), dist(2, .9, EOS, 1e-6));
        table.put(history(2), dist(EOS, .9));
        for (DecodingConvention convention : DecodingConvention.values()) {
            assertArrayEquals(new long[] {2, EOS}, beam(convention, table, dist(EOS, .9), 5), convention.id());
        }
    }
}
