package dev.captionfn.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The searches against a scripted decoder whose logits depend only on the row's last token, with
 * answers worked out by hand from HF's rules.
 */
class SearchTest {
    private static final int WIDTH = 6;
    private static final long EOS = 1;
    private static final TokenSpace TOKENS = new TokenSpace(new long[] {EOS}, WIDTH, WIDTH);

    /** A search under the LAVIS convention: the penalty sees no prompt. */
    private static Search lavis(GenerationOptions options) {
        return Search.forOptions(options, TOKENS, DecodingConvention.LAVIS, new long[0]);
    }

    /** A decoder whose next-token log-probabilities are a table indexed by the last token. */
    static final class ScriptedDecoder implements DecoderState {
        final Function<Long, float[]> next;
        long[] last;
        int steps;

        ScriptedDecoder(int rows, Function<Long, float[]> next) {
            this.next = next;
            this.last = new long[rows];
            Arrays.fill(last, -1);
        }

        @Override
        public int rows() {
            return last.length;
        }

        @Override
        public int width() {
            return WIDTH;
        }

        @Override
        public float[] logits() {
            float[] out = new float[last.length * WIDTH];
            for (int r = 0; r < last.length; r++) {
                System.arraycopy(next.apply(last[r]), 0, out, r * WIDTH, WIDTH);
            }
            return out;
        }

        @Override
        public void advance(int[] sourceRows, long[] tokens) {
            last = tokens.clone();
            steps++;
        }

        @Override
        public void close() {}
    }

    private static float[] logProbs(double... probs) {
        float[] out = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            out[i] = (float) Math.log(probs[i]);
        }
        return out;
    }

    @Test
    void greedyTakesTheMostLikelyTokenUntilEos() {
        // start -> 3 -> 4 -> EOS
        ScriptedDecoder decoder = new ScriptedDecoder(1, last -> switch (last.intValue()) {
            case -1 -> logProbs(.1, .1, .1, .5, .1, .1);
            case 3 -> logProbs(.1, .1, .1, .1, .5, .1);
            default -> logProbs(.1, .5, .1, .1, .1, .1);
        });
        var options = new GenerationOptions(1, 10, 1, 1.0, 1.0, false);
        List<long[]> out = Generator.run(decoder, List.of(lavis(options)), s -> false);
        assertArrayEquals(new long[] {3, 4, EOS}, out.get(0));
    }

    @Test
    void greedyStopsAtMaxNewTokensWithoutEos() {
        ScriptedDecoder decoder = new ScriptedDecoder(1, last -> logProbs(.1, .1, .1, .5, .1, .1));
        var options = new GenerationOptions(1, 4, 1, 1.0, 1.0, false);
        assertArrayEquals(new long[] {3, 3, 3, 3}, Generator.run(decoder, List.of(lavis(options)), s -> false).get(0));
    }

    @Test
    void greedyCannotEndBeforeMinNewTokens() {
        ScriptedDecoder decoder = new ScriptedDecoder(1, last -> logProbs(.1, .6, .1, .1, .05, .05));
        var options = new GenerationOptions(1, 10, 2, 1.0, 1.0, false);
        assertArrayEquals(new long[] {0, 0, EOS}, Generator.run(decoder, List.of(lavis(options)), s -> false).get(0));
    }

    @Test
    void greedyCannotEndOnItsFirstStepWithTheSmallestMinimum() {
        // EOS is the most likely token at every step; a minimum of 1 still bans it at the first
        ScriptedDecoder decoder = new ScriptedDecoder(1, last -> logProbs(.1, .6, .1, .1, .05, .05));
        var options = new GenerationOptions(1, 10, 1, 1.0, 1.0, false);
        assertArrayEquals(new long[] {0, EOS}, Generator.run(decoder, List.of(lavis(options)), s -> false).get(0));
    }

    @Test
    void beamSearchPrefersTheBetterNormalisedHypothesisOverTheGreedyPath() {
        // Greedy takes 2 (0.5) then is stuck with 0.3 EOS; beam finds 3 (0.4) then EOS 0.9:
        // 2 -> EOS scores log(.5*.3)/1, 3 -> EOS scores log(.4*.9)/1 (EOS not counted in the length).
        ScriptedDecoder decoder = new ScriptedDecoder(1, last -> switch (last.intValue()) {
            case -1 -> logProbs(.05, .0001, .5, .4, .0449, .0050);
            case 2 -> logProbs(.2, .3, .1, .1, .2, .1);
            case 3 -> logProbs(.02, .9, .02, .02, .02, .02);
            default -> logProbs(.1, .5, .1, .1, .1, .1);
        });
        var options = new GenerationOptions(2, 5, 1, 1.0, 1.0, false);
        assertArrayEquals(new long[] {3, EOS}, Generator.run(decoder, List.of(lavis(options)), s -> false).get(0));
    }

    @Test
    void searchesOfDifferentKindsShareOneDecoderBatchAndLeaveItWhenDone() {
        ScriptedDecoder decoder = new ScriptedDecoder(2, last -> switch (last.intValue()) {
            case -1 -> logProbs(.1, .1, .1, .5, .1, .1);
            case 3 -> logProbs(.1, .1, .1, .1, .5, .1);
            default -> logProbs(.1, .5, .1, .1, .1, .1);
        });
        List<Search> searches = new ArrayList<>();
        searches.add(lavis(new GenerationOptions(1, 10, 1, 1.0, 1.0, false)));
        searches.add(lavis(new GenerationOptions(3, 10, 1, 1.0, 1.0, false)));
        List<long[]> out = Generator.run(decoder, searches, s -> false);
        assertArrayEquals(new long[] {3, 4, EOS}, out.get(0));
        assertArrayEquals(new long[] {3, 4, EOS}, out.get(1), "a beam result ends on its EOS, as greedy's does");
    }

    @Test
    void theGeneratorRefusesADecoderWhoseRowsDoNotMatchTheSearches() {
        ScriptedDecoder decoder = new ScriptedDecoder(2, last -> logProbs(.1, .1, .1, .5, .1, .1));
        var search = lavis(new GenerationOptions(1, 3, 1, 1.0, 1.0, false));
        assertThrows(IllegalArgumentException.class, () -> Generator.run(decoder, List.of(search), s -> false));
    }

    @Test
    void topKOrdersByValueAndKeepsTheLowerIndexFirstAmongEquals() {
        TopK top = TopK.of(new float[] {1, 5, 3, 5, Float.NaN, 2}, 6, 4);
        assertArrayEquals(new int[] {1, 3, 2, 5}, top.indices);
        assertArrayEquals(new float[] {5, 5, 3, 2}, top.values);
    }

    @Test
    void lavisHypothesesKeepTheBestAndReportDoneOnlyWhenNoRunningBeamCanWin() {
        LavisBeamHypotheses h = new LavisBeamHypotheses(new GenerationOptions(2, 10, 1, 1.0, 1.0, false), TOKENS);
        h.add(new long[] {7, 7}, 2, -2.0);   // score -1
        h.add(new long[] {8}, 1, -3.0);      // score -3
        h.add(new long[] {9, 9, 9}, 3, -3.0); // score -1, replaces -3
        assertArrayEquals(new long[] {9, 9, 9}, h.best(), "among equal scores, the one added last");
        assertEquals(false, h.isDone(-2.0, 3), "a running beam at -2/3 can still beat the worst finished one (-1)");
        assertEquals(true, h.isDone(-4.0, 2));
        LavisBeamHypotheses early = new LavisBeamHypotheses(new GenerationOptions(2, 10, 1, 1.0, 1.0, true), TOKENS);
        early.add(new long[] {7}, 1, -2.0);
        early.add(new long[] {8}, 1, -3.0);
        assertEquals(true, early.isDone(0.0, 2), "early stopping ends as soon as the list is full");
    }

    @Test
    void optionsRefuseValuesHfWouldRefuse() {
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(0, 10, 1, 1.0, 1.0, false));
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(1, 0, 1, 1.0, 1.0, false));
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(1, 10, 0, 1.0, 1.0, false));
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(1, 10, 11, 1.0, 1.0, false));
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(1, 10, 1, 0.0, 1.0, false));
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(1, 10, 1, 1.0, Double.NaN, false));
    }
}
